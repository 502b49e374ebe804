"""The main job (docs/en/get_started.md): the whole segmentation pipeline on CPU in minutes.

1. writes a small deterministic dataset in the PASCAL VOC (+ SBD aug) layout
   (real JPEGs and PNG label maps of textured shapes) to data/synthvoc;
2. trains a reduced-width WiderResNet-A1 segmenter with the paper's head and
   loss through tools/train.py (configs/demo/...);
3. evaluates it with tools/test.py (mIoU);
4. writes prediction overlays with tools/demo/image_demo.py.

    python tools/demo/run_demo.py [--work-dir work_dirs/demo] [--iters N]
"""

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

from synthetic_data import make_voc  # noqa: E402  (tools/demo/synthetic_data.py)

CONFIG = 'configs/demo/twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
NUM_CLASSES = 6  # background + 5 shape classes


def step(n, text):
    print(f'\n[mmwrn demo {n}/4] {text}', flush=True)


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    # mmengine 0.10.7 imports the deprecated pkg_resources on every start
    env = dict(os.environ, PYTHONWARNINGS='ignore:pkg_resources is deprecated:UserWarning')
    subprocess.run([sys.executable] + cmd, cwd=ROOT, check=True, env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=600, help='training iterations')
    args = parser.parse_args()
    work_dir = osp.join(ROOT, args.work_dir)
    start = time.time()

    step(1, 'writing the synthetic VOC-layout dataset to data/synthvoc')
    data_root = make_voc(
        osp.join(ROOT, 'data', 'synthvoc'),
        num_train=40,
        num_val=16,
        size=96,
        num_classes=NUM_CLASSES,
    )
    print(f'{data_root}: 40 train + 40 aug + 16 val images, {NUM_CLASSES} classes present')

    step(2, f'training for {args.iters} iterations (progress every 25)')
    run(
        [
            'tools/train.py',
            CONFIG,
            '--work-dir',
            work_dir,
            '--cfg-options',
            f'train_cfg.max_iters={args.iters}',
            f'train_cfg.val_interval={args.iters}',
            f'param_scheduler.0.end={args.iters}',
        ]
    )
    checkpoint = osp.join(work_dir, f'iter_{args.iters}.pth')

    step(3, 'evaluating on the val split')
    test_dir = osp.join(work_dir, 'test')
    run(['tools/test.py', CONFIG, checkpoint, '--work-dir', test_dir])
    logs = sorted(glob.glob(osp.join(test_dir, '*', '*.json')), key=osp.getmtime)
    with open(logs[-1]) as f:
        metrics = json.loads(f.readlines()[-1])

    step(4, 'writing prediction overlays for the val images')
    overlays = osp.join(work_dir, 'overlays')
    val_images = [osp.join(data_root, 'JPEGImages', f'2007_val{i:05d}.jpg') for i in range(8)]
    run(['tools/demo/image_demo.py', CONFIG, checkpoint, *val_images, '--out-dir', overlays])

    print(f'\n[mmwrn demo] done in {time.time() - start:.0f} s')
    print(
        f'  mIoU on val: {metrics["mIoU"]:.2f} (aAcc {metrics["aAcc"]:.2f}); '
        f'a constant prediction scores about {100 / NUM_CLASSES / 2:.0f} or less'
    )
    print(f'  checkpoint:  {checkpoint}')
    print(f'  overlays:    {overlays}/')
    print(
        '  next: the real recipes are in configs/wider_resnet_seg (see configs/README.md);\n'
        '        train one with  tools/dist_train.sh CONFIG GPUS  (data under data/, '
        'as mmseg expects)'
    )


if __name__ == '__main__':
    main()
