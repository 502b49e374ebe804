"""Prepare a trained checkpoint for release, as the hosts' publish tools do:
keep only the weights and meta (drop optimizer, schedulers and message hub) and
append the first 8 hex digits of the file's sha256 to its name.

    python tools/publish_model.py IN.pth OUT.pth   # writes OUT-<sha256[:8]>.pth

The input is never modified: an output (OUT.pth or the final name) that is the
input is refused, and the result is written atomically (a temporary file in the
output folder, then a rename).
"""

import argparse
import hashlib
import io
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

import torch  # noqa: E402

from mmwrn.checkpoint import safe_load  # noqa: E402
from mmwrn.cli.errors import CHECKPOINT_TOOL_ERRORS  # noqa: E402
from mmwrn.utils.outputs import check_output, write_bytes  # noqa: E402

KEEP = ('state_dict', 'meta')


def publish(src, out):
    check_output(out, [src])
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} does not exist')
    checkpoint = safe_load(src, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{src} is not an mmengine checkpoint (no state_dict)')
    dropped = sorted(set(checkpoint) - set(KEEP))
    slim = {k: checkpoint[k] for k in KEEP if k in checkpoint}
    buffer = io.BytesIO()
    torch.save(slim, buffer)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    final = f'{osp.splitext(out)[0]}-{sha[:8]}.pth'
    check_output(final, [src])
    write_bytes(data, final)
    print(f'dropped {dropped}; wrote {final}')
    return final


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('in_file')
    parser.add_argument('out_file')
    args = parser.parse_args()
    try:
        publish(args.in_file, args.out_file)
    except (*CHECKPOINT_TOOL_ERRORS, ValueError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
