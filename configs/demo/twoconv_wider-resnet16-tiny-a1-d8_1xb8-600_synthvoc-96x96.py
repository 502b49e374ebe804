# The README's main job: the paper's segmenter (A1, output stride 8, "2 conv."
# head, bootstrapped CE, paper pipeline and optimiser) at reduced width and
# depth 16, trained from scratch on CPU in a few minutes on the synthetic VOC-
# layout dataset that tools/demo/run_demo.py writes to data/synthvoc.
# What differs from the VOC recipe: widths / 8, depth 16, head dilation 3 (the
# feature maps are 12x12, not 63x63), crop 96, BN trained (no pretrained
# backbone), lr 0.01, 600 iterations, batch 8, fixed seed.
_base_ = ['../wider_resnet_seg/twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py']
crop_size = (96, 96)
scale = (96, 96)
data_root = 'data/synthvoc/VOCdevkit/VOC2012'
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=16,
        stem_channels=16,
        channels=((16, 16), (32, 32), (64, 64), (64, 128), (64, 128, 256), (128, 256, 512)),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=None,
    ),
    decode_head=dict(in_channels=512, channels=64, dilation=3, classifier_dilation=3),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.7, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        datasets=[
            dict(
                type='PascalVOCDataset',
                data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_dir),
                ann_file=f'ImageSets/Segmentation/{split}.txt',
                pipeline=train_pipeline,
            )
            for seg_dir, split in (('SegmentationClass', 'train'), ('SegmentationClassAug', 'aug'))
        ]
    ),
)
val_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optimizer = dict(lr=0.01)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=600, by_epoch=False)]
train_cfg = dict(max_iters=600, val_interval=300)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=300, max_keep_ckpts=1))
randomness = dict(seed=0)
