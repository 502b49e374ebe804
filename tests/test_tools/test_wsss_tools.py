"""The weakly-supervised chain on synthetic VOC-layout data, as a user runs it:
tools/train.py on the CAM classifier config -> tools/wsss/cam.py (resumable)
-> tools/wsss/eval_cams.py, and the tools' errors on bad input."""

import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from tests.helpers.cls import tiny_cls_train_config
from tests.helpers.demo_data import synthetic_data
from tests.helpers.seg import ROOT, walk_dicts
from tests.helpers.tools import run_tool, scalars

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

CAM_CONFIG = osp.join(
    ROOT, 'configs', 'wider_resnet_wsss', 'wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py'
)
SIZE = 48


def tiny_cam_config(data_root, tmp_path):
    path = tiny_cls_train_config(CAM_CONFIG, data_root, str(tmp_path), size=SIZE)
    cfg = Config.fromfile(path)

    def fix(d):
        if d.get('type') == 'RandomResizeLong':
            d.update(min_long=SIZE, max_long=SIZE + 16)
        if d.get('type') == 'RandomCrop':
            d['crop_size'] = SIZE

    walk_dicts(cfg._cfg_dict, fix)
    cfg.model.backbone.init_cfg = None
    cfg.dump(path)
    return path


def test_train_cams_resume_and_evaluate(tmp_path):
    data_root = synthetic_data.make_voc(str(tmp_path / 'data'), num_train=4, num_val=2, size=SIZE)
    cfg = tiny_cam_config(data_root, tmp_path)
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cfg, '--work-dir', work)
    logs = scalars(work)
    assert np.isfinite([r['loss'] for r in logs if 'loss' in r]).all()
    assert any('multi-label/mAP' in r for r in logs), 'validation ran'
    ckpt = osp.join(work, 'epoch_2.pth')
    cams = str(tmp_path / 'cams')
    args = [
        'tools/wsss/cam.py',
        cfg,
        ckpt,
        '--data-root',
        data_root,
        '--list',
        'ImageSets/Segmentation/train.txt',
        '--out-dir',
        cams,
        '--scales',
        '1.0,0.5',
    ]
    out = run_tool(*args, '--limit', '2', '--overlay-dir', str(tmp_path / 'vis'))
    assert '2 images written, 0 already done' in out.stdout and 'images/s' in out.stdout
    overlays = sorted(os.listdir(tmp_path / 'vis'))
    assert overlays == ['2007_train00000.png', '2007_train00001.png']
    for name in overlays:
        jpg = osp.join(data_root, 'JPEGImages', osp.splitext(name)[0] + '.jpg')
        with Image.open(tmp_path / 'vis' / name) as im, Image.open(jpg) as img:
            assert im.format == 'PNG' and im.size == img.size, name
    out = run_tool(*args)  # resumes: only the two others
    assert '2 images written, 2 already done (skipped), 4 in the list' in out.stdout
    assert sorted(os.listdir(cams)) == [f'2007_train{i:05d}.npz' for i in range(4)]
    out = run_tool(
        'tools/wsss/eval_cams.py',
        cams,
        '--data-root',
        data_root,
        '--list',
        'ImageSets/Segmentation/train.txt',
        '--thresholds',
        '0.1,0.2,0.3',
    )
    assert '     0.20  ' in out.stdout and 'best: mIoU ' in out.stdout


def test_tools_name_the_problem(tmp_path):
    data_root = synthetic_data.make_voc(str(tmp_path / 'data'), num_train=2, num_val=1, size=32)
    with open(osp.join(data_root, 'bad.txt'), 'w') as f:
        f.write('2007_train00000\n2007_gone\n')
    cfg = tiny_cam_config(data_root, tmp_path)
    out = run_tool(
        'tools/wsss/cam.py',
        cfg,
        'none.pth',
        '--data-root',
        data_root,
        '--list',
        'bad.txt',
        '--out-dir',
        str(tmp_path / 'c'),
        check=False,
    )
    assert out.returncode and '1 images of the list are missing' in out.stderr
    assert '2007_gone' in out.stderr
    cls = osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')
    out = run_tool(
        'tools/wsss/cam.py',
        cls,
        'none.pth',
        '--data-root',
        data_root,
        '--list',
        'ImageSets/Segmentation/train.txt',
        '--out-dir',
        str(tmp_path / 'c'),
        check=False,
    )
    assert out.returncode and 'LinearClsHead computes no CAMs' in out.stderr
    out = run_tool(
        'tools/wsss/eval_cams.py',
        str(tmp_path / 'c'),
        '--data-root',
        data_root,
        '--list',
        'ImageSets/Segmentation/train.txt',
        check=False,
    )
    assert out.returncode and 'have no CAM file' in out.stderr
