# mmseg's 40k-iteration poly schedule with the paper's optimiser: SGD momentum
# 0.9, weight decay 5e-4, bias-type parameters (conv biases and BN beta) at 2x
# lr and without weight decay.
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']
optimizer = dict(type='SGD', lr=0.0016, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'bias': dict(lr_mult=2.0, decay_mult=0.0)}),
)
