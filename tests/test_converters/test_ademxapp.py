"""ademxapp MXNet weights -> mmwrn with tools/model_converters/ademxapp2mmwrn.py,
checked against MXNet's own forward (fixtures made with MXNet 1.9.1 by
tests/data/ademxapp/make_fixture.py) and, for the layouts the fixtures do not
cover, against tests/helpers/source_networks.py's ademxapp forward (itself checked
against the MXNet fixtures here)."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmwrn.converters import NDArrayFileError, load_ndarray_list
from tests.helpers import source_networks as R
from tests.helpers.conversion_matrix import (
    ALL_SOURCES,
    compare,
    run_cli,
    single_thread,
    tiny_config,
)
from tests.helpers.seg import ROOT

FIX = osp.join(ROOT, 'tests', 'data', 'ademxapp')
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'ademxapp2mmwrn.py')
LAYOUT = dict(
    depth=None,
    num_units=(1, 3, 1, 2, 1, 1),
    stem_channels=8,
    channels=((8, 8), (8, 8), (16, 16), (16, 32), (16, 32, 64), (32, 64, 128)),
    norm_cfg=dict(type='BN', eps=1.001e-5),
)
CLS = {'a1': 'wider-resnet38-a1_4xb64_in1k.py', 'a': 'wider-resnet38-a_4xb64_in1k.py'}
SEG = 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py'


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def fixture_config(tmp_path, kind, variant='a1', output_stride=8):
    if kind == 'cls':
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'wider_resnet_cls', CLS[variant]))
        cfg.model.backbone.update(LAYOUT)
        cfg.model.head.update(num_classes=10, in_channels=128)
    else:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'wider_resnet_seg', SEG))
        cfg.model.backbone.update(LAYOUT, output_stride=output_stride, init_cfg=None)
        cfg.model.decode_head.update(in_channels=128, channels=32, num_classes=5)
    path = str(tmp_path / f'{kind}_{variant}_s{output_stride}.py')
    cfg.dump(path)
    return path


def convert(src, dst, config, check=True, *extra, subprocess=False):
    """Run the converter's command line from another directory: as a user
    does (a new interpreter) with ``subprocess``, else through its main()."""
    out = run_cli(
        TOOL,
        [osp.join(FIX, src) if not osp.isabs(src) else src, str(dst), '--config', config, *extra],
        cwd=osp.dirname(str(dst)),
        subprocess=subprocess,
    )
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_reader_reads_mxnet_files():
    params = load_ndarray_list(osp.join(FIX, 'rna-a1_cls5.params'))
    assert len(params) == 115 and params['arg:conv1a_weight'].shape == (8, 3, 3, 3)
    assert params['arg:conv1a_weight'].dtype == np.float32
    assert params['aux:bn7_moving_var'].shape == (128,)


@pytest.mark.slow
@pytest.mark.parametrize('variant', ['a1', 'a'])
def test_classifier_matches_mxnet(tmp_path, variant):
    import mmpretrain

    config = fixture_config(tmp_path, 'cls', variant)
    ckpt = tmp_path / 'cls.pth'
    out = convert(f'rna-{variant}_cls10.params', ckpt, config, subprocess=True)
    assert 'not converted' not in out.stdout and 'missing' not in out.stdout
    model = mmpretrain.get_model(config, pretrained=str(ckpt)).eval()
    x = torch.from_numpy(np.load(osp.join(FIX, 'input.npy')))
    with torch.no_grad():
        logits = model(x, mode='tensor')
    expected = np.load(osp.join(FIX, f'rna-{variant}_cls10_out.npy'))
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize('output_stride', [8, 16])
def test_segmentor_matches_mxnet(tmp_path, output_stride):
    from mmseg.apis import init_model

    config = fixture_config(tmp_path, 'seg', output_stride=output_stride)
    ckpt = tmp_path / 'seg.pth'
    convert('rna-a1_cls5.params', ckpt, config, subprocess=output_stride == 8)
    model = init_model(config, str(ckpt), device='cpu')
    assert model.dataset_meta['classes'][0] == 'background'  # meta.dataset_meta (VOC)
    x = torch.from_numpy(np.load(osp.join(FIX, 'input.npy')))
    with torch.no_grad():
        logits = model(x, mode='tensor')
    expected = np.load(osp.join(FIX, f'rna-a1_cls5_s{output_stride}_out.npy'))
    assert logits.shape == expected.shape
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-4, atol=1e-4)
    # IABN's dilation rule (at stride 16 the same network: the first conv of
    # B6 is a 1x1) or a head of other dilation: another network
    cfg = Config.fromfile(config)
    cfg.model.backbone.dilation_rule = 'iabn'
    cfg.model.decode_head.dilation = 6
    cfg.dump(str(tmp_path / 'other.py'))
    out = convert('rna-a1_cls5.params', ckpt, str(tmp_path / 'other.py'), False)
    assert out.returncode != 0
    assert ('dilation_rule: the source needs ademxapp, the config has iabn' in out.stderr) == (
        output_stride == 8
    )
    assert 'head dilations: the source needs (12, 12), the config has (6, 12)' in out.stderr


@pytest.mark.slow
def test_refuses_wrong_files_and_configs(tmp_path):
    cls_cfg = fixture_config(tmp_path, 'cls')
    torch.save({'state_dict': {}}, tmp_path / 'torch.pth')
    out = convert(str(tmp_path / 'torch.pth'), tmp_path / 'x.pth', cls_cfg, check=False)
    assert out.returncode != 0 and 'not an MXNet NDArray list file' in out.stderr
    # right kind, wrong widths: every mismatching tensor is named
    real = osp.join(ROOT, 'configs', 'wider_resnet_cls', CLS['a1'])
    out = convert('rna-a1_cls10.params', tmp_path / 'x.pth', real, check=False)
    assert (
        out.returncode != 0
        and 'backbone.conv1a.weight: converted (8, 3, 3, 3), model (64, 3, 3, 3)' in out.stderr
    )
    # ademxapp's BN eps
    cfg = Config.fromfile(cls_cfg)
    cfg.model.backbone.norm_cfg = dict(type='BN')
    cfg.dump(str(tmp_path / 'eps.py'))
    out = convert(
        'rna-a1_cls10.params',
        tmp_path / 'x.pth',
        str(tmp_path / 'eps.py'),
        check=False,
        subprocess=True,
    )
    assert out.returncode != 0
    assert 'norm_cfg: the source needs BN eps 1.001e-05, the config has BN eps 1e-05' in out.stderr
    assert 'wider-resnet38-a1_4xb64_in1k.py' in out.stderr  # the config that fits
    # Model A1 weights into the Model A config, and the reverse
    a_cfg = fixture_config(tmp_path, 'cls', 'a')
    out = convert('rna-a1_cls10.params', tmp_path / 'x.pth', a_cfg, check=False)
    assert out.returncode != 0 and 'variant: the source needs a1, the config has a' in out.stderr
    out = convert('rna-a_cls10.params', tmp_path / 'x.pth', cls_cfg, check=False)
    assert out.returncode != 0 and 'variant: the source needs a, the config has a1' in out.stderr
    with open(tmp_path / 'trunc.params', 'wb') as f:
        f.write(open(osp.join(FIX, 'rna-a1_cls10.params'), 'rb').read()[:5000])
    with pytest.raises(NDArrayFileError, match='truncated'):
        load_ndarray_list(str(tmp_path / 'trunc.params'))


@pytest.mark.slow
def test_the_file_name_decides_a_or_a1(tmp_path):
    """Model A and A1 have the same parameters: an unknown name needs --arch."""
    cls_cfg = fixture_config(tmp_path, 'cls')
    renamed = tmp_path / 'weights.params'
    renamed.write_bytes(open(osp.join(FIX, 'rna-a1_cls10.params'), 'rb').read())
    out = convert(str(renamed), tmp_path / 'x.pth', cls_cfg, False)
    assert out.returncode != 0 and 'Give --arch a' in out.stderr
    out = convert(str(renamed), tmp_path / 'x.pth', cls_cfg, True, '--arch', 'a1')
    assert 'ademxapp-a1' in out.stdout
    out = convert('rna-a_cls10.params', tmp_path / 'x.pth', cls_cfg, False, '--arch', 'a1')
    assert out.returncode != 0 and 'contradicts the file name' in out.stderr


def test_reference_forward_matches_mxnet():
    """tests/helpers/source_networks.py's ademxapp forward, used for the layouts the
    MXNet fixtures do not cover, reproduces MXNet on the fixtures."""
    x = torch.from_numpy(np.load(osp.join(FIX, 'input.npy')))
    layout = (1, 3, 1, 2, 1, 1)
    for variant in ('a1', 'a'):
        ref = R.ademxapp_forward(
            load_ndarray_list(osp.join(FIX, f'rna-{variant}_cls10.params')),
            x,
            variant,
            32,
            layout=layout,
        )
        expected = torch.from_numpy(np.load(osp.join(FIX, f'rna-{variant}_cls10_out.npy')))
        assert R.rel_diff(ref['logits'], expected) < 2e-6
    params = load_ndarray_list(osp.join(FIX, 'rna-a1_cls5.params'))
    for output_stride in (8, 16):
        ref = R.ademxapp_forward(params, x, 'a1', output_stride, layout=layout)
        expected = torch.from_numpy(np.load(osp.join(FIX, f'rna-a1_cls5_s{output_stride}_out.npy')))
        assert R.rel_diff(ref['logits'], expected) < 2e-6


@pytest.mark.slow
def test_classifier_into_segmenter_and_back(tmp_path):
    """An ImageNet classifier converts into a segmenter (classifier dropped,
    backbone dilated as ademxapp dilates it) and a segmenter into a classifier
    (head dropped, FC at init): the backbone is exact, the rest listed."""
    seg_config = osp.join(ROOT, 'configs', 'wider_resnet_seg', SEG)
    cls_config = osp.join(ROOT, 'configs', 'wider_resnet_cls', CLS['a1'])
    for kind, config, source, note in (
        ('cls', seg_config, ALL_SOURCES[1], "dropped the source's ImageNet classifier"),
        ('seg', cls_config, ALL_SOURCES[2], "dropped the source's segmentation head"),
    ):
        cfg = tiny_config(config)
        params = R.ademxapp_params(R.Random(0), head=kind, classes=21)
        src = str(tmp_path / f'ilsvrc-cls_rna-a1_{kind}.params')
        R.write_ndarray_list(src, params)
        path = str(tmp_path / osp.basename(config))
        cfg.dump(path)
        out = convert(src, tmp_path / 'x.pth', path)
        assert note in out.stdout and 'kept at initialisation' in out.stdout
        worst, what = compare(source, params, cfg, str(tmp_path / 'x.pth'))
        assert what == 'backbone' and worst <= 1e-5


def test_reports_unused_parameters(tmp_path):
    """An extra parameter in the source is listed, not silently dropped."""
    from mmwrn.converters import convert_ademxapp

    params = load_ndarray_list(osp.join(FIX, 'rna-a1_cls10.params'))
    params['arg:fc_extra_weight'] = np.zeros((2, 2), np.float32)
    _, unused, kind = convert_ademxapp(params)
    assert kind == 'classifier' and unused == ['fc_extra_weight']
