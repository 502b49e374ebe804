# mmdeploy deploy config: an mmwrn segmenter to ONNX for ONNX Runtime, input fixed
# at 1x3x504x504 (the paper's crop). Plain dicts (no _base_: mmdeploy's wheel ships no
# configs). Run it with tools/deployment/deploy.py (docs/en/user_guides/deployment.md).
# with_argmax=False keeps the logits (N, C, H, W), what mmseg calls seg_logits; True
# ends the graph in argmax (N, 1, H, W) labels.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=17,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=[504, 504],  # [W, H]
    optimize=False,
)
codebase_config = dict(type='mmseg', task='Segmentation', with_argmax=False)
backend_config = dict(type='onnxruntime')
