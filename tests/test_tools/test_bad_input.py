"""Bad input never costs data or gives a silent wrong number: each case runs as a
user runs it (a subprocess for the command-line tools) and must end in a clear
message naming the problem, a non-zero exit status, no traceback, and no input
file changed (sha256 before and after)."""

import glob
import hashlib
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from PIL import Image

from mmwrn.utils.outputs import OutputError, save_torch
from tests.helpers.demo_data import synthetic_data
from tests.helpers.det import MMDET_MISSING
from tests.helpers.seg import ROOT, tiny_train_config
from tests.helpers.tiny import TINY_WIDER

SEG = osp.join(ROOT, 'configs', 'wider_resnet_seg')
VOC = osp.join(SEG, 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py')
CLS = osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')
ADEMXAPP = osp.join(ROOT, 'tests', 'data', 'ademxapp', 'rna-a1_cls10.params')
ADEMXAPP_LAYOUT = dict(
    depth=None,
    num_units=(1, 3, 1, 2, 1, 1),
    stem_channels=8,
    channels=((8, 8), (8, 8), (16, 16), (16, 32), (16, 32, 64), (32, 64, 128)),
    norm_cfg=dict(type='BN', eps=1.001e-5),
)
ENV = dict(os.environ, PYTHONWARNINGS='ignore', PYTHONPATH=ROOT)


def run(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, env=ENV, capture_output=True, text=True
    )


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def hashes(root):
    """sha256 of every file under ``root`` (or of the file ``root``)."""
    files = (
        [root]
        if osp.isfile(root)
        else sorted(
            p for p in glob.glob(osp.join(root, '**', '*'), recursive=True) if osp.isfile(p)
        )
    )
    return {p: sha(p) for p in files}


def miou(out):
    """Whether the run printed an mIoU result (not the config's metric list)."""
    return re.search(r'mIoU: \d', out.stdout + out.stderr) is not None


def assert_clean_failure(out, *words):
    """Exit status 1, each of ``words`` in stderr, no Python traceback."""
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-3000:]
    assert 'Traceback' not in text, text[-3000:]
    for word in words:
        assert word in out.stderr, (word, out.stderr[-3000:])


@pytest.fixture(scope='module')
def seg(tmp_path_factory):
    """A tiny VOC-layout dataset, its config and a checkpoint that fits it."""
    from mmseg.apis import init_model

    tmp = tmp_path_factory.mktemp('seg')
    data_root = synthetic_data.make_voc(str(tmp / 'data'), num_train=4, num_val=2, size=64)
    cfg = tiny_train_config(VOC, data_root, str(tmp))
    model = init_model(cfg, None, device='cpu')
    ckpt = str(tmp / 'good.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return dict(tmp=tmp, data_root=data_root, cfg=cfg, ckpt=ckpt)


# 1. Tools that write files: never over an input, atomically, the path named on failure


@pytest.mark.slow
@pytest.mark.parametrize('how', ['same path', 'symbolic link', 'hard link'])
def test_publish_refuses_to_overwrite_its_input(tmp_path, how):
    src = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'optimizer': {'state': {}}}, src)
    before = sha(src)
    out_file = tmp_path / 'out.pth'
    if how == 'same path':
        out_file = src
    elif how == 'symbolic link':
        os.symlink(src, out_file)
    else:
        os.link(src, out_file)
    out = run('tools/publish_model.py', src, out_file)
    assert_clean_failure(out, 'is the input', str(src))
    assert sha(src) == before
    assert glob.glob(str(tmp_path / '*-*.pth')) == []


@pytest.mark.slow
def test_publish_names_the_path_it_cannot_write(tmp_path):
    src = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, src)
    before = sha(src)
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    out = run('tools/publish_model.py', src, blocker / 'out.pth')
    assert_clean_failure(out, 'cannot write', str(blocker / 'out-'))
    assert sha(src) == before


def test_save_torch_is_atomic_and_names_the_path(tmp_path):
    target = tmp_path / 'ckpt.pth'
    save_torch({'a': 1}, str(target))
    assert torch.load(target) == {'a': 1}
    with pytest.raises(OutputError, match=r'refusing to overwrite an input'):
        save_torch({'a': 2}, str(target), inputs=[str(target)])
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    with pytest.raises(OutputError, match=f'cannot write {blocker}/x.pth'):
        save_torch({'a': 2}, str(blocker / 'x.pth'))
    assert torch.load(target) == {'a': 1}
    assert sorted(os.listdir(tmp_path)) == ['a_file', 'ckpt.pth']  # no temporary file left


@pytest.mark.slow
@pytest.mark.parametrize(
    'tool,src_name', [('ademxapp2mmwrn.py', 'w.params'), ('port2mmwrn.py', 'w.pth')]
)
@pytest.mark.parametrize('dst', ['source', 'config'])
def test_converters_refuse_to_overwrite_their_inputs(tmp_path, tool, src_name, dst):
    src = tmp_path / src_name
    if src_name.endswith('.params'):
        shutil.copy(ADEMXAPP, src)
    else:
        torch.save({'state_dict': {'mod1.conv1.weight': torch.ones(1)}}, src)
    config = tmp_path / 'config.py'
    shutil.copy(CLS, config)
    before = hashes(str(tmp_path))
    target = src if dst == 'source' else config
    out = run(osp.join('tools', 'model_converters', tool), src, target, '--config', config)
    assert_clean_failure(out, 'is the input', str(target))
    assert hashes(str(tmp_path)) == before


@pytest.mark.slow
def test_converter_names_the_path_it_cannot_write(tmp_path):
    cfg = Config.fromfile(CLS)
    cfg.model.backbone.update(ADEMXAPP_LAYOUT)
    cfg.model.head.update(num_classes=10, in_channels=128)
    config = str(tmp_path / 'cls.py')
    cfg.dump(config)
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    before = sha(ADEMXAPP)
    out = run(
        'tools/model_converters/ademxapp2mmwrn.py', ADEMXAPP, blocker / 'x.pth', '--config', config
    )
    assert_clean_failure(out, f'cannot write {blocker / "x.pth"}')
    assert sha(ADEMXAPP) == before


# 2. Evaluation and inference refuse a checkpoint that does not fit the model


def _break(state_dict, how):
    if how == 'missing':
        for k in [k for k in state_dict if k.startswith('backbone.b3.')]:
            del state_dict[k]
        return 'backbone.b3.0.conv1.weight'
    if how == 'unexpected':
        state_dict['backbone.extra.weight'] = torch.ones(1)
        return 'backbone.extra.weight'
    key = 'decode_head.conv_seg.weight'
    state_dict[key] = torch.zeros(5, *state_dict[key].shape[1:])
    return key


@pytest.mark.slow
@pytest.mark.parametrize('how', ['missing', 'unexpected', 'shape'])
def test_test_tool_refuses_a_checkpoint_that_does_not_fit(seg, how):
    checkpoint = torch.load(seg['ckpt'], weights_only=False)
    key = _break(checkpoint['state_dict'], how)
    path = str(seg['tmp'] / f'partial_{how}.pth')
    torch.save(checkpoint, path)
    before = hashes(seg['data_root'])
    out = run('tools/test.py', seg['cfg'], path, '--work-dir', seg['tmp'] / f'test_{how}')
    assert_clean_failure(out, f'{path} does not match the model', key, '--allow-partial-checkpoint')
    assert not miou(out)
    assert hashes(seg['data_root']) == before
    if how == 'missing':  # the documented opt-in evaluates it, with a warning
        out = run(
            'tools/test.py',
            seg['cfg'],
            path,
            '--work-dir',
            seg['tmp'] / 'test_opt_in',
            '--allow-partial-checkpoint',
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert 'partial checkpoint allowed' in out.stdout + out.stderr
        assert miou(out)


@pytest.mark.slow
def test_test_tool_refuses_to_write_predictions_over_the_dataset(seg):
    labels = osp.join(seg['data_root'], 'SegmentationClass')
    before = hashes(seg['data_root'])
    out = run(
        'tools/test.py', seg['cfg'], seg['ckpt'], '--work-dir', seg['tmp'] / 'out', '--out', labels
    )
    assert_clean_failure(out, f"--out {labels} is the test dataset's folder")
    out = run(
        'tools/test.py',
        seg['cfg'],
        seg['ckpt'],
        '--work-dir',
        seg['tmp'] / 'out',
        '--out',
        seg['ckpt'],
    )
    assert_clean_failure(out, 'is the input', seg['ckpt'])
    assert hashes(seg['data_root']) == before


# 3. Label values outside the classes


@pytest.fixture(scope='module')
def bad_labels(seg):
    """A copy of the dataset with value 30 (21 classes) planted in a val label map."""
    root = seg['tmp'] / 'bad_labels'
    data_dir = osp.dirname(osp.dirname(seg['data_root']))
    shutil.copytree(data_dir, root)
    data_root = osp.join(root, osp.relpath(seg['data_root'], data_dir))
    label_file = sorted(glob.glob(osp.join(data_root, 'SegmentationClass', '*val*.png')))[0]
    image = Image.open(label_file)
    label = np.array(image)
    label[10:12, 10:15] = 30
    planted = Image.fromarray(label)
    if image.mode == 'P':
        planted.putpalette(image.getpalette())
    planted.save(label_file)
    cfg = Config.fromfile(seg['cfg'])
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader = cfg.val_dataloader
    config = str(root / 'config.py')
    cfg.dump(config)
    return config, label_file


@pytest.mark.slow
def test_test_tool_stops_on_label_values_outside_the_classes(seg, bad_labels):
    config, label_file = bad_labels
    before = sha(label_file)
    out = run('tools/test.py', config, seg['ckpt'], '--work-dir', seg['tmp'] / 'labels')
    assert_clean_failure(
        out, 'label values outside the 21 classes', label_file, '{30: 10}', 'check_dataset.py'
    )
    assert not miou(out)
    assert sha(label_file) == before
    # switched off, the old behaviour: an mIoU that leaves the 10 pixels out
    out = run(
        'tools/test.py',
        config,
        seg['ckpt'],
        '--work-dir',
        seg['tmp'] / 'labels_off',
        '--cfg-options',
        'custom_hooks=[]',
    )
    assert out.returncode == 0 and miou(out)


def test_label_range_hook_counts_values_and_can_warn():
    from mmwrn.engine.hooks.label_range_hook import LabelRangeHook, out_of_range

    labels = torch.tensor([[0, 20, 21, 255, 30, 30, -1]])
    assert out_of_range(labels, 21, 255) == {-1: 1, 21: 1, 30: 2}
    assert out_of_range(labels, 21) == {-1: 1, 21: 1, 30: 2, 255: 1}
    with pytest.raises(
        ValueError,
        match=r"action must be one of \('error', 'warn'\), "
        "got str 'raise'",
    ):
        LabelRangeHook(action='raise')


# 4. A non-finite loss or weight stops training before the next checkpoint


@pytest.mark.slow
def test_training_stops_on_nan_input(seg):
    work = seg['tmp'] / 'nan_input'
    out = run(
        'tools/train.py',
        seg['cfg'],
        '--work-dir',
        work,
        '--cfg-options',
        'model.data_preprocessor.std=[0,0,0]',
    )  # x / 0: inf, NaN
    assert_clean_failure(
        out,
        'training stopped at iteration 1',
        'non-finite loss',
        'no checkpoint had been saved yet',
    )
    assert glob.glob(str(work / '*.pth')) == []


@pytest.mark.slow
def test_training_stops_on_divergence_and_keeps_the_last_good_checkpoint(seg):
    config = str(seg['tmp'] / 'diverging.py')
    with open(config, 'w') as f:  # lr x 1e36 after iteration 2 (checkpoints every 2)
        f.write(
            f"_base_ = ['{seg['cfg']}']\n"
            "param_scheduler = [dict(type='MultiStepLR', milestones=[2], gamma=1e36, "
            'by_epoch=False)]\n'
        )
    work = seg['tmp'] / 'diverging'
    out = run('tools/train.py', config, '--work-dir', work)
    good = str(work / 'iter_2.pth')
    assert_clean_failure(
        out, 'training stopped at iteration', 'non-finite', f'the last good checkpoint is {good}'
    )
    assert sorted(glob.glob(str(work / '*.pth'))) == [good]
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() == good
    state = torch.load(good, weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_finite_loss_hook_arguments():
    from mmwrn.engine import FiniteLossHook

    with pytest.raises(TypeError, match="check_weights must be a bool, got str 'no'"):
        FiniteLossHook(check_weights='no')


@pytest.mark.slow  # builds every shipped config
def test_shipped_configs_turn_the_guards_on():
    configs = [p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')) if '_base_' not in p]
    assert len(configs) > 30
    for path in configs:
        with open(path) as f:
            text = f.read()
        if 'default_runtime.py' not in text:  # inherits a shipped config
            continue
        if MMDET_MISSING and 'mmdet::' in text:  # mmdet's bases: optional host
            continue
        hooks = [h['type'] for h in Config.fromfile(path).get('custom_hooks', [])]
        assert {'mmwrn.FiniteLossHook', 'mmwrn.LabelRangeHook'} <= set(hooks), path


# 5. Messages name the argument, the value, its type and the valid choices


@pytest.mark.parametrize(
    'build,kwargs,exc,words',
    [
        (
            'WiderResNet',
            dict(depth='16'),
            TypeError,
            ['depth must be an int', "got str '16'", '(16, 20, 38)'],
        ),
        (
            'WiderResNet',
            dict(drop_rates=0.3),
            TypeError,
            ['drop_rates must be a sequence of 6 floats', 'B2-B7', 'got float 0.3'],
        ),
        (
            'WiderResNet',
            dict(drop_rates=(0, 0, 0, 0, 0.3, 1.5)),
            ValueError,
            ['drop_rates[5] (level b7)', '[0, 1)', '1.5'],
        ),
        ('WiderResNet', dict(variant=1), TypeError, ["('a', 'a1', 'a2')", 'got int 1']),
        ('WiderResNet', dict(output_stride='8'), TypeError, ['(32, 16, 8)', "got str '8'"]),
        ('WiderResNet', dict(norm_eval=1), TypeError, ['norm_eval must be a bool', 'got int 1']),
        ('WiderResNet', dict(norm_cfg=None), TypeError, ['norm_cfg must be a config dict']),
        ('WiderResNet', dict(out_indices='6'), TypeError, ['out_indices', "got str '6'"]),
        (
            'WiderResNet',
            dict(in_channels=3.0),
            TypeError,
            ['in_channels must be an int', 'got float 3.0'],
        ),
        ('WiderResNet', dict(width_multiplier='2'), TypeError, ['width_multiplier', "str '2'"]),
        (
            'WiderResNet',
            dict(channels=5),
            TypeError,
            ['channels must be six sequences', 'got int 5'],
        ),
        (
            'WideResNet_CIFAR',
            dict(depth='28'),
            TypeError,
            ['depth must be an int 6n + 4', "got str '28'"],
        ),
        (
            'WideResNet_CIFAR',
            dict(drop_rate='0.3'),
            TypeError,
            ['drop_rate must be a float', "got str '0.3'"],
        ),
        ('WideResNet_CIFAR', dict(widen_factor=2.5), TypeError, ['widen_factor', 'got float 2.5']),
        (
            'TwoConvHead',
            dict(num_classes='21'),
            TypeError,
            ['num_classes must be an int', "got str '21'"],
        ),
        (
            'TwoConvHead',
            dict(num_classes=21, dilation=2.0),
            TypeError,
            ['dilation', 'got float 2.0'],
        ),
        (
            'TwoConvHead',
            dict(num_classes=21, dropout_ratio=1.5),
            ValueError,
            ['dropout_ratio must be in [0, 1)', '1.5'],
        ),
        (
            'BootstrappedCrossEntropyLoss',
            dict(min_kept=1.5),
            TypeError,
            ['min_kept must be an int', 'got float 1.5'],
        ),
    ],
)
def test_constructor_messages(build, kwargs, exc, words):
    from mmwrn.models.backbones.wide_resnet_cifar import WideResNet_CIFAR
    from mmwrn.models.backbones.wider_resnet import WiderResNet
    from mmwrn.models.decode_heads.two_conv_head import TwoConvHead
    from mmwrn.models.losses.bootstrapped_ce_loss import BootstrappedCrossEntropyLoss

    cls = {
        c.__name__: c
        for c in (WiderResNet, WideResNet_CIFAR, TwoConvHead, BootstrappedCrossEntropyLoss)
    }[build]
    if build == 'WiderResNet' and not {'channels', 'width_multiplier'} & set(kwargs):
        kwargs = dict(TINY_WIDER, **kwargs)
    with pytest.raises(exc) as info:
        cls(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert 'invalid depth 16' not in str(info.value)
    assert 'has no len()' not in str(info.value)


# Inference: image_demo.py


@pytest.mark.slow
def test_image_demo_refuses_a_classification_config(seg, tmp_path):
    image = glob.glob(osp.join(seg['data_root'], 'JPEGImages', '*.jpg'))[0]
    out = run('tools/demo/image_demo.py', CLS, seg['ckpt'], image, '--out-dir', tmp_path)
    assert_clean_failure(out, 'is not a segmentation config', CLS)


@pytest.mark.slow
def test_image_demo_names_unreadable_images_and_paints_the_rest(seg, tmp_path):
    good = glob.glob(osp.join(seg['data_root'], 'JPEGImages', '*.jpg'))[0]
    tiny = tmp_path / 'one_pixel.png'
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tiny)
    label = glob.glob(osp.join(seg['data_root'], 'SegmentationClass', '*.png'))[0]
    truncated = tmp_path / 'truncated.png'
    with open(label, 'rb') as f:
        truncated.write_bytes(f.read()[:200])
    inputs = [good, str(tiny), str(truncated)]
    before = {p: sha(p) for p in inputs}
    out = run(
        'tools/demo/image_demo.py',
        seg['cfg'],
        seg['ckpt'],
        *inputs,
        '--out-dir',
        tmp_path / 'overlays',
    )
    assert_clean_failure(
        out,
        f'{tiny}: the image is 1x1 pixels',
        f'{truncated}: cannot read the image',
        '2 of 3 images not painted',
    )
    assert os.listdir(tmp_path / 'overlays') == [osp.splitext(osp.basename(good))[0] + '.png']
    assert {p: sha(p) for p in inputs} == before
    # an overlay would replace an input image: refused before anything is written
    out = run('tools/demo/image_demo.py', seg['cfg'], seg['ckpt'], tiny, '--out-dir', tmp_path)
    assert_clean_failure(out, 'is the input', str(tiny))
    assert sha(tiny) == before[str(tiny)]


@pytest.mark.slow
def test_image_demo_refuses_a_checkpoint_that_does_not_fit(seg, tmp_path):
    checkpoint = torch.load(seg['ckpt'], weights_only=False)
    key = _break(checkpoint['state_dict'], 'shape')
    path = str(tmp_path / 'other.pth')
    torch.save(checkpoint, path)
    image = glob.glob(osp.join(seg['data_root'], 'JPEGImages', '*.jpg'))[0]
    out = run('tools/demo/image_demo.py', seg['cfg'], path, image, '--out-dir', tmp_path)
    assert_clean_failure(out, 'does not match the model', key, '--allow-partial-checkpoint')
    assert not glob.glob(str(tmp_path / '*.png'))
