# The paper's ImageNet schedule (ademxapp): batch 256, SGD with Nesterov momentum
# 0.9, weight decay 1e-4, lr 0.1 decayed linearly to ~0 over 90 epochs (per iteration).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001, nesterov=True)
)
param_scheduler = dict(
    type='LinearLR',
    start_factor=1.0,
    end_factor=0.0,
    by_epoch=True,
    begin=0,
    end=90,
    convert_to_iter_based=True,
)
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
