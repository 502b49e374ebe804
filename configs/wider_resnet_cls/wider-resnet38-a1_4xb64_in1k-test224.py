# As wider-resnet38-a1_4xb64_in1k.py, evaluated the common way: shorter side 256 +
# centre crop 224. No published A1 number at 224 (IABN's 79.72 is its Model A:
# wider-resnet38-a_3rdparty-iabn_in1k.py).
_base_ = ['./wider-resnet38-a1_4xb64_in1k.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
