# mmwrn's guards against silent wrong numbers (README, "Bad input"), in every shipped config:
# FiniteLossHook stops training at a NaN/inf loss or weight before the checkpoint of that
# iteration is written; LabelRangeHook stops training, validation and testing on label values
# outside the classes. Off: --cfg-options custom_hooks=[] (or leave them out of custom_hooks).
custom_hooks = [
    dict(type='mmwrn.FiniteLossHook'),
    dict(type='mmwrn.LabelRangeHook'),
]
