# As wider-resnet38-a1_4xb64_in1k.py, evaluated the common way: shorter side 256 +
# centre crop 224. Expected (IABN's WiderResNet-38 at 224): 79.72 top-1.
_base_ = ['./wider-resnet38-a1_4xb64_in1k.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
