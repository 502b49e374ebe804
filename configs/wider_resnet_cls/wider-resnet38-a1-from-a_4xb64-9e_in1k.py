# Model A1 fine-tuned from a trained Model A, as the authors made A1: the A weights
# (same parameters, strided units instead of pools), lr 0.01 decayed linearly over
# 9 epochs (~45k iterations at batch 256), otherwise the ImageNet recipe. The A weights
# are the model zoo checkpoint of wider-resnet38-a_4xb64_in1k (converted from ademxapp's
# Model A, or trained with that config).
# Reported results, with their sources: the model table of README.md in this folder.
_base_ = ['./wider-resnet38-a1_4xb64_in1k.py']
load_from = 'checkpoints/wider-resnet38-a_4xb64_in1k.pth'
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(end=9)
train_cfg = dict(max_epochs=9)
