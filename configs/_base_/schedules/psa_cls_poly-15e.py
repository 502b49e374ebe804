# PSA's classifier schedule (train_cls.py, its README: --lr 0.1 --max_epoches 15
# --wt_dec 5e-4): poly decay (power 0.9) per iteration over 15 epochs, 10x lr for the new
# classifier fc8. PSA's PolyOptimizer calls torch.optim.SGD(params, lr, weight_decay), which
# passes 5e-4 as SGD's third argument, the momentum: PSA trains with momentum 5e-4, kept.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head.fc8': dict(lr_mult=10.0)}),
)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=15,
        convert_to_iter_based=True,
    )
]
train_cfg = dict(by_epoch=True, max_epochs=15, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# PSA's batch: 16 images (its README)
auto_scale_lr = dict(base_batch_size=16)
