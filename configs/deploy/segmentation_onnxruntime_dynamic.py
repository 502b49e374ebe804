# mmdeploy deploy config: an mmwrn segmenter to ONNX for ONNX Runtime with batch,
# height and width free (the logits are resized to the input size inside the graph).
# Plain dicts (no _base_: mmdeploy's wheel ships no configs); run it with
# tools/deployment/deploy.py (docs/en/user_guides/deployment.md). with_argmax=False
# keeps the logits (N, C, H, W); True ends the graph in argmax (N, 1, H, W) labels.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=17,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=False,
    dynamic_axes=dict(
        input={0: 'batch', 2: 'height', 3: 'width'}, output={0: 'batch', 2: 'height', 3: 'width'}
    ),
)
codebase_config = dict(type='mmseg', task='Segmentation', with_argmax=False)
backend_config = dict(type='onnxruntime')
