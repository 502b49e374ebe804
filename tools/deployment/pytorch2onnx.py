"""Export a segmenter or classifier of mmwrn to ONNX and check it with ONNX Runtime.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT] --out MODEL.onnx
        [--shape H [W]] [--batch N] [--dynamic-batch] [--opset 17]
        [--atol 1e-4] [--rtol 1e-3] [--skip-verify] [--allow-partial-checkpoint]
        [--cfg-options k=v ...]

CONFIG: an mmseg segmenter (EncoderDecoder; output ``seg_logits`` (N, C, H, W),
whole-image logits at the input size) or an mmpretrain classifier
(ImageClassifier; output ``scores`` (N, C), mmpretrain's ``pred_score``). The
input ``input`` (N, 3, H, W) float32 is the image after the data preprocessor's
channel conversion and normalisation, which stay OUTSIDE the graph as in
mmdeploy; the file's metadata records them (``mean``, ``std``, ``to_rgb``).
--shape defaults to a segmenter's training crop, a classifier's test crop.
Without --checkpoint the model keeps its random initialisation (a warning says
so). The export always uses torch's TorchScript exporter (``dynamo=False``
on torch >= 2.9). Unless --skip-verify, ONNX Runtime runs the file on random
images, its maximum absolute difference to PyTorch (mmseg's / mmpretrain's own
inference) is printed, and a difference over ``atol + rtol * max|PyTorch|``
stops the tool before anything is written. The output is written atomically
and never over an input.
"""

import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import mmwrn  # noqa: E402,F401
from mmwrn.cli.errors import CHECKPOINT_TOOL_ERRORS  # noqa: E402
from mmwrn.deployment import onnx_export as ox  # noqa: E402
from mmwrn.utils.outputs import check_output, write_bytes  # noqa: E402


def parse_shape(values, default):
    if not values:
        if default is None:
            raise ox.ExportError(
                'the config has no input size (data_preprocessor.size); give --shape H [W]'
            )
        return tuple(default)
    if len(values) > 2 or min(values) < 1:
        raise ox.ExportError(f'--shape takes H or H W (positive), got {values}')
    return (values[0], values[-1])


def export(
    config,
    out,
    checkpoint=None,
    shape=None,
    batch=1,
    dynamic_batch=False,
    opset=ox.DEFAULT_OPSET,
    atol=1e-4,
    rtol=1e-3,
    verify=True,
    allow_partial=False,
    cfg_options=None,
):
    """Export ``config`` (with ``checkpoint``) to ``out``; returns a dict of
    what was done (``task``, ``shape``, ``diffs``: ``[(batch, max abs diff,
    max |PyTorch|)]``)."""
    check_output(out, [config, checkpoint], what='ONNX file')
    if batch < 1:
        raise ox.ExportError(f'--batch must be >= 1, got {batch}')
    if verify:  # before the slow part: a missing package is known at once
        ox.require('onnxruntime', 'checking the ONNX file (or give --skip-verify)')
    ox.require('onnx', 'writing the ONNX file')
    model, task, cfg = ox.build_model(config, checkpoint, cfg_options, allow_partial)
    size = parse_shape(shape, ox.default_shape(cfg, task))
    info = ox.preprocess_info(model)
    example = torch.from_numpy(ox.random_inputs(info, batch, size))
    data = ox.export_onnx_bytes(
        ox.export_module(model, task, size), example, opset, dynamic_batch, ox.output_name(task)
    )
    model.eval()
    data = ox.add_metadata(
        data,
        dict(
            producer='mmwrn tools/deployment/pytorch2onnx.py',
            task=task,
            config=osp.basename(cfg.filename or str(config)),
            checkpoint=osp.basename(checkpoint) if checkpoint else 'none (random initialisation)',
            input='(N, 3, H, W) float32: channels to_rgb (if true) then (pixel - mean) / std',
            output=ox.output_name(task),
            mean=json.dumps(info['mean']),
            std=json.dumps(info['std']),
            to_rgb=json.dumps(info['to_rgb']),
            input_size=json.dumps(list(size)),
        ),
    )
    diffs = []
    if verify:
        batches = [batch] + ([batch + 2] if dynamic_batch else [])
        for n in batches:
            inputs = ox.random_inputs(info, n, size, seed=n + 1)
            diff, scale = ox.compare(model, task, data, inputs)
            diffs.append((n, diff, scale))
            print(
                f'ONNX Runtime vs PyTorch, batch {n}: max abs diff {diff:.3g} '
                f'(max |PyTorch output| {scale:.3g})'
            )
            if not diff <= atol + rtol * scale:
                raise ox.ExportError(
                    f'ONNX Runtime differs from PyTorch by {diff:.3g} > atol {atol:g} + '
                    f'rtol {rtol:g} * {scale:.3g}: {out} not written (--atol/--rtol to accept '
                    'it, --skip-verify to skip the check)'
                )
    write_bytes(data, out)
    print(
        f'{task}: {out} ({len(data) / 2**20:.1f} MiB, input (N, 3, {size[0]}, {size[1]}), '
        f'batch {"dynamic" if dynamic_batch else batch}, opset {opset})'
    )
    return dict(task=task, shape=size, diffs=diffs, preprocess=info)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (default: random initialisation)')
    parser.add_argument('--out', required=True, help='the ONNX file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='H',
        help="input height [width] (default: the config's)",
    )
    parser.add_argument('--batch', type=int, default=1, help='batch size of the graph')
    parser.add_argument(
        '--dynamic-batch', action='store_true', help='leave the batch dimension free'
    )
    parser.add_argument(
        '--opset',
        type=int,
        default=ox.DEFAULT_OPSET,
        help=f'ONNX opset, >= {ox.MIN_OPSET} (default {ox.DEFAULT_OPSET})',
    )
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--rtol',
        type=float,
        default=1e-3,
        help='accepted difference: atol + rtol * max |PyTorch output|',
    )
    parser.add_argument(
        '--skip-verify', action='store_true', help='do not run ONNX Runtime (no onnxruntime needed)'
    )
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='use a checkpoint that does not fit the model (default: refuse)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value',
    )
    args = parser.parse_args()
    try:
        export(
            args.config,
            args.out,
            args.checkpoint,
            args.shape,
            args.batch,
            args.dynamic_batch,
            args.opset,
            args.atol,
            args.rtol,
            not args.skip_verify,
            args.allow_partial_checkpoint,
            args.cfg_options,
        )
    except (*CHECKPOINT_TOOL_ERRORS, ox.ExportError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
