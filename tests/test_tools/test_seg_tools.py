"""tools/train.py, test.py, image_demo.py and check_dataset.py end to end on
tiny generated data in each dataset's real folder layout."""

import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.helpers.demo_data import synthetic_data
from tests.helpers.seg import ROOT, tiny_train_config
from tests.helpers.tools import run_tool, scalars

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

SEG = osp.join(ROOT, 'configs', 'wider_resnet_seg')
ENV = dict(os.environ, PYTHONWARNINGS='ignore')
DATASETS = {  # config -> (data generator, data_root inside the generated tree)
    'voc12aug': (
        'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
        lambda r: synthetic_data.make_voc(r, num_train=4, num_val=2, size=64),
    ),
    'cityscapes': (
        'twoconv_wider-resnet38-a1-d8_4xb4-38k_cityscapes-504x504.py',
        lambda r: synthetic_data.make_cityscapes(r, 4, 2),
    ),
    'ade20k': (
        'twoconv_wider-resnet38-a1-d8_4xb4-80k_ade20k-504x504.py',
        lambda r: synthetic_data.make_ade20k(r, 4, 2),
    ),
    'pascal_context_59': (
        'twoconv_wider-resnet38-a1-d8_4xb4-80k_pascal-context-59-504x504.py',
        lambda r: synthetic_data.make_pascal_context(r, 4, 2),
    ),
}


@pytest.mark.parametrize('name', list(DATASETS))
def test_train_with_validation_in_real_layout(name, tmp_path):
    config, make = DATASETS[name]
    data_root = make(str(tmp_path / 'data'))
    cfg = tiny_train_config(osp.join(SEG, config), data_root, str(tmp_path))
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cfg, '--work-dir', work)
    logs = scalars(work)
    train = [r for r in logs if 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    assert all(np.isfinite(r['loss']) for r in train)
    assert any('mIoU' in r for r in logs), 'validation ran'
    assert osp.isfile(osp.join(work, 'iter_4.pth'))


@pytest.fixture(scope='module')
def voc_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('voc')
    data_root = synthetic_data.make_voc(str(tmp / 'data'), num_train=4, num_val=2, size=64)
    cfg = tiny_train_config(osp.join(SEG, DATASETS['voc12aug'][0]), data_root, str(tmp), iters=4)
    return tmp, data_root, cfg


@pytest.mark.compat
def test_resume_continues_training(voc_run):
    tmp, _, cfg = voc_run
    work = str(tmp / 'resume')
    run_tool('tools/train.py', cfg, '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=2')
    run_tool('tools/train.py', cfg, '--work-dir', work, '--resume')
    resumed = [r['iter'] for r in scalars(work) if 'loss' in r]
    assert resumed == [3, 4], 'resumed from iteration 2'
    # resuming from an explicit checkpoint file
    work2 = str(tmp / 'resume2')
    shutil.copytree(work, work2)
    out = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        work2,
        '--resume',
        osp.join(work, 'iter_2.pth'),
        '--cfg-options',
        'train_cfg.max_iters=3',
    )
    assert 'resumed' in (out.stdout + out.stderr).lower()


def test_test_tool_and_image_demo(voc_run):
    tmp, data_root, cfg = voc_run
    work = str(tmp / 'trained')
    run_tool('tools/train.py', cfg, '--work-dir', work, '--no-validate')
    ckpt = osp.join(work, 'iter_4.pth')
    out = run_tool(
        'tools/test.py',
        cfg,
        ckpt,
        '--work-dir',
        str(tmp / 'test'),
        '--show-dir',
        str(tmp / 'show'),
        '--out',
        str(tmp / 'pred'),
    )
    assert 'mIoU' in out.stdout + out.stderr
    assert len(glob.glob(str(tmp / 'pred' / '*.png'))) == 2
    assert len(glob.glob(str(tmp / 'show' / '**' / '*.png'), recursive=True)) == 2
    run_tool('tools/test.py', cfg, ckpt, '--work-dir', str(tmp / 'tta'), '--tta')
    img = osp.join(data_root, 'JPEGImages', '2007_val00000.jpg')
    run_tool('tools/demo/image_demo.py', cfg, ckpt, img, '--out-dir', str(tmp / 'ov'))
    overlay = np.asarray(Image.open(tmp / 'ov' / '2007_val00000.png'))
    assert overlay.shape[:2] == cv2.imread(img).shape[:2]


def test_check_dataset_names_each_planted_fault(tmp_path):
    data_root = synthetic_data.make_voc(str(tmp_path / 'data'), num_train=6, num_val=2, size=64)
    cfg = tiny_train_config(osp.join(SEG, DATASETS['voc12aug'][0]), data_root, str(tmp_path))
    clean = run_tool('tools/analysis_tools/check_dataset.py', cfg, check=False)
    assert clean.returncode == 0 and 'dataset check: OK' in clean.stdout

    jpg = osp.join(data_root, 'JPEGImages', '2007_train00000.jpg')
    with open(jpg, 'r+b') as f:  # corrupt JPEG: keep the header, garble the rest
        f.seek(20)
        f.write(os.urandom(200))
        f.truncate(300)
    os.remove(osp.join(data_root, 'SegmentationClass', '2007_train00001.png'))
    small = osp.join(data_root, 'SegmentationClass', '2007_train00002.png')
    Image.open(small).resize((10, 10)).save(small)
    bad = osp.join(data_root, 'SegmentationClassAug', '2007_aug00003.png')
    label = np.array(Image.open(bad))
    label[0, 0] = 50
    Image.fromarray(label).save(bad)

    out = run_tool('tools/analysis_tools/check_dataset.py', cfg, check=False)
    assert out.returncode == 1
    report = {
        line.split(': ', 1)[0].strip(): line.split(': ', 1)[1]
        for line in out.stdout.splitlines()
        if line.startswith('  /')
    }
    assert 'image unreadable' in report[jpg]
    assert (
        report[osp.join(data_root, 'SegmentationClass', '2007_train00001.png')]
        == 'label map missing'
    )
    assert 'differs from its image' in report[small]
    assert 'label values [50] outside the 21 classes' in report[bad]
    assert '4 problems found' in out.stdout


@pytest.mark.compat
def test_train_stops_at_once_when_the_start_checkpoint_is_missing(tmp_path):
    """The paper's VOC config starts from the converted ImageNet classifier:
    before building anything, train.py names the file, the converter command
    that makes it, and how to train without it."""
    config = osp.join(SEG, 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py')
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    err = out.stderr
    assert (
        'model.backbone.init_cfg.checkpoint = checkpoints/wider-resnet38-a1_4xb64_in1k.pth '
        'does not exist' in err
    )
    assert (
        'ademxapp2mmwrn.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params '
        'checkpoints/wider-resnet38-a1_4xb64_in1k.pth' in err
    )
    assert '--cfg-options model.backbone.init_cfg=None' in err
    assert 'Traceback' not in err and not (tmp_path / 'work_dirs').exists()
