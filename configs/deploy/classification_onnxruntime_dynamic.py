# mmdeploy deploy config: an mmwrn classifier to ONNX for ONNX Runtime, batch free;
# output (N, C) scores (softmax; sigmoid for multi-label heads). The image size is the
# model config's test crop (mmdeploy's mmpretrain task runs the test pipeline and takes
# no input_shape): 320 for the ImageNet configs, 224 with
# configs/wider_resnet_cls/wider-resnet38-a1_4xb64_in1k-test224.py.
# Plain dicts (no _base_: mmdeploy's wheel ships no configs); run it with
# tools/deployment/deploy.py (docs/en/user_guides/deployment.md).
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
    dynamic_axes=dict(input={0: 'batch'}, output={0: 'batch'}),
)
codebase_config = dict(type='mmpretrain', task='Classification')
backend_config = dict(type='onnxruntime')
