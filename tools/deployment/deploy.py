"""Convert an mmwrn model to ONNX with mmdeploy, and check it with ONNX Runtime.

    python tools/deployment/deploy.py DEPLOY_CFG MODEL_CFG --work-dir DIR
        [--checkpoint CKPT] [--img IMG] [--device cpu] [--dump-info]
        [--atol 1e-4] [--rtol 1e-3] [--skip-verify]

DEPLOY_CFG: an mmdeploy deploy config for ONNX Runtime (configs/deploy/);
MODEL_CFG: an mmwrn segmenter or classifier config. The conversion is mmdeploy's
own (``mmdeploy.apis.torch2onnx``: its rewriters, its graph, its SDK files with
--dump-info); on torch >= 2.9 this tool makes that call use torch's TorchScript
exporter, which mmdeploy 1.3.1 needs but does not ask for (in this process
only). IMG is mmdeploy's example input (default: a random image of the deploy
config's size). Unless --skip-verify, ONNX Runtime runs the file on random images
and its maximum absolute difference to mmseg's / mmpretrain's own inference is
printed; over ``atol + rtol * max|PyTorch|`` the exit status is 1. Without
mmdeploy the tool stops with the command that installs it; without mmdeploy at
all, tools/deployment/pytorch2onnx.py exports the same graphs.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import mmwrn  # noqa: E402,F401
from mmwrn.cli.errors import CHECKPOINT_TOOL_ERRORS  # noqa: E402
from mmwrn.deployment import mmdeploy_bridge as bridge  # noqa: E402
from mmwrn.deployment import onnx_export as ox  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('deploy_cfg', help='mmdeploy deploy config (configs/deploy/)')
    parser.add_argument('model_cfg', help='mmwrn model config')
    parser.add_argument('--work-dir', required=True, help='where the ONNX file goes')
    parser.add_argument('--checkpoint', help='weights (default: random initialisation)')
    parser.add_argument('--img', help='example input image (default: a random one)')
    parser.add_argument('--device', default='cpu', help='device of the PyTorch model')
    parser.add_argument(
        '--dump-info',
        action='store_true',
        help="also write mmdeploy's SDK files (deploy.json, pipeline.json, detail.json)",
    )
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--rtol',
        type=float,
        default=1e-3,
        help='accepted difference: atol + rtol * max |PyTorch output|',
    )
    parser.add_argument(
        '--skip-verify', action='store_true', help='do not compare ONNX Runtime with PyTorch'
    )
    args = parser.parse_args()
    try:
        bridge.import_mmdeploy()
        deploy = bridge.load_deploy_config(args.deploy_cfg)
        argmax = deploy.codebase_config.type == 'mmseg' and deploy.codebase_config.get(
            'with_argmax', True
        )
        if not args.skip_verify and not argmax:
            ox.require('onnxruntime', 'checking the ONNX file (or give --skip-verify)')
        out = bridge.convert(
            deploy,
            args.model_cfg,
            args.work_dir,
            args.checkpoint,
            args.img,
            args.device,
            args.dump_info,
        )
        print(f'mmdeploy: {out}')
        if args.skip_verify:
            return
        if argmax:
            print(
                'not checked: the graph ends in argmax (with_argmax=True); a with_argmax='
                'False deploy config gives the logits to compare'
            )
            return
        dynamic = 0 in (deploy.onnx_config.get('dynamic_axes') or {}).get('input', {})
        results = bridge.verify(
            out, deploy, args.model_cfg, args.checkpoint, batches=(1, 3) if dynamic else (1,)
        )
        for n, diff, scale in results:
            print(
                f'ONNX Runtime vs PyTorch, batch {n}: max abs diff {diff:.3g} '
                f'(max |PyTorch output| {scale:.3g})'
            )
            if not diff <= args.atol + args.rtol * scale:
                raise ox.ExportError(
                    f'ONNX Runtime differs from PyTorch by {diff:.3g} > atol '
                    f'{args.atol:g} + rtol {args.rtol:g} * {scale:.3g}'
                )
    except (*CHECKPOINT_TOOL_ERRORS, ox.ExportError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
