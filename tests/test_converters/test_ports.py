"""IABN / NVIDIA / PSA checkpoints -> mmwrn with tools/model_converters/port2mmwrn.py,
run as a user runs it (a subprocess in a fresh directory), against reference
forwards written from each project's own code (tests/helpers/source_networks.py), with
random weights saved in each project's checkpoint layout, at reduced widths."""

import os.path as osp
from functools import partial

import pytest
import torch

from tests.helpers import source_networks as R
from tests.helpers.conversion_matrix import compare, run_cli, single_thread, tiny_config
from tests.helpers.seg import ROOT

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

TOOL = osp.join(ROOT, 'tools', 'model_converters', 'port2mmwrn.py')
CLS = osp.join(ROOT, 'configs', 'wider_resnet_cls')
SEG = osp.join(ROOT, 'configs', 'wider_resnet_seg')
IABN_CLS = osp.join(CLS, 'wider-resnet38-a_3rdparty-iabn_in1k.py')
IABN_SEG = osp.join(SEG, 'deeplabv3_wider-resnet38-a2-d8_3rdparty-iabn_mapillary-v1-65.py')
NV_SEG = osp.join(
    SEG, 'deeplabv3plus_wider-resnet38-a2-d8_3rdparty-nv_4xb2-80k_cityscapes-512x1024.py'
)
PSA_SEG = osp.join(SEG, 'twoconv_wider-resnet38-a1-d8_3rdparty-psa_4xb4-40k_voc12aug-504x504.py')


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def tiny(tmp_path, config):
    cfg = tiny_config(config)
    path = str(tmp_path / osp.basename(config))
    cfg.dump(path)
    return path, cfg


def convert(tmp_path, src, config, *extra, subprocess=False):
    """Run the converter's command line (in a new interpreter in ``tmp_path``
    with ``subprocess``) into a reduced-width ``config``."""
    path, cfg = tiny(tmp_path, config)
    out = run_cli(
        TOOL,
        [src, str(tmp_path / 'out.pth'), '--config', path, *extra],
        cwd=tmp_path,
        subprocess=subprocess,
    )
    return out, cfg


def converted(tmp_path, src, config, *extra, subprocess=True):
    out, cfg = convert(tmp_path, src, config, *extra, subprocess=subprocess)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, cfg, str(tmp_path / 'out.pth')


def refused(tmp_path, src, config, *messages, subprocess=False):
    out, _ = convert(tmp_path, src, config, subprocess=subprocess)
    assert out.returncode != 0, out.stdout
    for message in messages:
        assert message in out.stderr, out.stderr
    return out.stderr


class Wrapped:
    """A reference with the conversion_matrix.Source interface."""

    def __init__(self, forward, head=None):
        self.forward, self.head = forward, head


def save(tmp_path, name, obj):
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def test_iabn_imagenet_is_model_a_with_inplace_abn(tmp_path):
    sd = R.iabn_body(R.Random(0, signed_bn=True), classes=1000)
    src = save(
        tmp_path,
        'wider_resnet38.pth.tar',
        dict(state_dict={'module.' + k: v for k, v in sd.items()}, epoch=90),
    )
    stdout, cfg, ckpt = converted(tmp_path, src, IABN_CLS)
    assert 'iabn format, iabn-a' in stdout
    assert 'in-place ABN: wrote |weight| + 1e-05 into' in stdout
    worst, what = compare(
        Wrapped(lambda c, x, s: R.iabn_forward(c, x, 'a'), 'linear'), sd, cfg, ckpt
    )
    assert what == 'backbone + logits' and worst <= 1e-5, worst
    meta = torch.load(ckpt, weights_only=True)['meta']['converted_from']
    assert meta['file'] == 'wider_resnet38.pth.tar' and meta['format'] == 'iabn'
    arch = meta['architecture']
    assert (arch['variant'], arch['pool_padding'], arch['act'], arch['norm_eps']) == (
        'a',
        1,
        ['LeakyReLU', 0.01],
        1e-5,
    )
    assert not meta['init_only']

    # --plain-bn: the file's weights as plain ABN computes them
    stdout, cfg, ckpt = converted(tmp_path, src, IABN_CLS, '--plain-bn', subprocess=False)
    plain = partial(R.abn, inplace=False)
    worst, _ = compare(
        Wrapped(lambda c, x, s: R.iabn_forward(c, x, 'a', norm_act=plain), 'linear'), sd, cfg, ckpt
    )
    assert worst <= 1e-5
    # without the fold the network is another one (negative BN weights)
    worst, _ = compare(Wrapped(lambda c, x, s: R.iabn_forward(c, x, 'a'), 'linear'), sd, cfg, ckpt)
    assert worst > 1e-2


def test_iabn_imagenet_refused_by_the_ademxapp_and_a1_configs(tmp_path):
    sd = R.iabn_body(R.Random(0, signed_bn=True), classes=1000)
    src = save(
        tmp_path,
        'wider_resnet38.pth.tar',
        dict(state_dict={'module.' + k: v for k, v in sd.items()}),
    )
    err = refused(
        tmp_path,
        src,
        osp.join(CLS, 'wider-resnet38-a_4xb64_in1k.py'),
        'pool_padding: the source needs 1, the config has 0',
        'act_cfg: the source needs LeakyReLU(0.01), the config has ReLU',
        'norm_cfg: the source needs BN eps 1e-05, the config has BN eps 1.001e-05',
        'wider-resnet38-a_3rdparty-iabn_in1k.py',
        subprocess=True,
    )
    assert 'variant' not in err
    refused(
        tmp_path,
        src,
        osp.join(CLS, 'wider-resnet38-a1_4xb64_in1k.py'),
        'variant: the source needs a, the config has a1',
    )
    # IABN's WiderResNet has no dilated form: no segmenter reproduces it
    refused(tmp_path, src, IABN_SEG, 'variant: the source needs a, the config has a2')


def test_iabn_vistas_snapshot_body_and_deeplabv3_head(tmp_path):
    cfg = tiny_config(IABN_SEG)
    rng = R.Random(1, signed_bn=True)
    body = R.iabn_body(rng)
    head, cls = R.iabn_deeplab_head(rng, R.CHANNELS[-1][-1], cfg.model.decode_head.channels, 65)
    src = save(
        tmp_path,
        'wide_resnet38_deeplab_vistas.pth.tar',
        dict(state_dict=dict(body=body, head=head, cls=cls)),
    )
    stdout, cfg, ckpt = converted(tmp_path, src, IABN_SEG)
    assert 'iabn-a2 (Vistas snapshot: body, head, cls)' in stdout
    assert 'not converted' not in stdout and 'kept at initialisation' not in stdout

    def forward(content, x, output_stride):
        assert output_stride == 8
        outs = R.iabn_forward(body, x, 'a2', dilation=True)
        outs['logits'] = R.iabn_deeplab_forward(head, cls, outs[6])
        return outs

    worst, what = compare(Wrapped(forward, 'iabn-deeplabv3'), None, cfg, ckpt)
    assert what == 'backbone + logits' and worst <= 1e-5, worst
    # mmwrn's "ademxapp" dilation rule and ReLU: another network
    refused(
        tmp_path,
        src,
        osp.join(SEG, 'deeplabv3_wider-resnet38-a2-d8_4xb2-80k_cityscapes-512x1024.py'),
        'dilation_rule: the source needs iabn, the config has ademxapp',
        'act_cfg: the source needs LeakyReLU(0.01), the config has ReLU',
        subprocess=True,
    )
    refused(
        tmp_path,
        src,
        NV_SEG,
        'act_cfg: the source needs LeakyReLU(0.01)',
        'head type: the source needs ASPPHead, the config has DepthwiseSeparableASPPHead',
    )


def test_nv_a2_drops_the_imagenet_classifier(tmp_path):
    sd = R.iabn_body(R.Random(2), fmt='nv', classes=1000)
    src = save(
        tmp_path,
        'wider_resnet38.pth.tar',
        dict(state_dict={'module.' + k: v for k, v in sd.items()}),
    )
    stdout, cfg, ckpt = converted(tmp_path, src, NV_SEG)
    assert 'nv format, nv-a2' in stdout and 'in-place ABN' not in stdout
    assert (
        "dropped the source's ImageNet classifier (2 tensors: head.fc.bias, head.fc.weight)"
        in stdout
    )
    assert 'decode_head.image_pool.1.conv.weight' in stdout  # listed: kept at init
    worst, what = compare(
        Wrapped(lambda c, x, s: R.iabn_forward(c, x, 'a2', s == 8, 'nv')), sd, cfg, ckpt
    )
    assert what == 'backbone' and worst <= 1e-5, worst
    refused(
        tmp_path,
        src,
        osp.join(SEG, 'deeplabv3plus_wider-resnet38-a2-d8_4xb2-80k_cityscapes-512x1024.py'),
        'dilation_rule: the source needs iabn, the config has ademxapp',
        osp.basename(NV_SEG),
        subprocess=True,
    )


def test_psa_resnet38d(tmp_path):
    sd = R.psa_state(R.Random(3))
    src = save(tmp_path, 'res38_cls.pth', sd)  # PSA saves model.module.state_dict()
    stdout, cfg, ckpt = converted(tmp_path, src, PSA_SEG)
    assert 'psa format, psa-a1' in stdout and 'fc8.weight' in stdout
    worst, what = compare(Wrapped(lambda c, x, s: R.psa_forward(c, x)), sd, cfg, ckpt)
    assert what == 'backbone' and worst <= 1e-5, worst
    refused(
        tmp_path,
        src,
        osp.join(SEG, 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py'),
        'norm_cfg: the source needs BN eps 1e-05, the config has BN eps 1.001e-05',
        subprocess=True,
    )
    refused(
        tmp_path,
        src,
        osp.join(CLS, 'wider-resnet38-a1_4xb64_in1k.py'),
        'output_stride: the source needs 8, the config has 32',
    )
    # a 4-level decoder's backbone ends at B6: B7 and bn7 are dropped with a notice
    stdout, cfg, ckpt = converted(
        tmp_path,
        src,
        osp.join(SEG, 'deeplabv3plus_wider-resnet38-a1-b6-d8_4xb4-80k_ade20k-512x512.py'),
        subprocess=False,
    )
    assert 'note: dropped b7, bn7 (' in stdout and 'out_indices (2, 3, 4, 5)' in stdout
    worst, what = compare(Wrapped(lambda c, x, s: R.psa_forward(c, x)), sd, cfg, ckpt)
    assert what == 'backbone' and worst <= 1e-5, worst


def test_what_the_file_is_decides_the_variant(tmp_path):
    body = R.iabn_body(R.Random(4))
    src = save(tmp_path, 'body.pth', dict(state_dict=body))
    err = refused(tmp_path, src, IABN_CLS, 'the file cannot tell which it is', '--arch a')
    assert 'a2' in err
    stdout, _, ckpt = converted(tmp_path, src, IABN_CLS, '--arch', 'a', subprocess=False)
    assert 'iabn-a' in stdout and 'head.fc.weight' in stdout  # kept at init, listed
    out, _ = convert(tmp_path, src, IABN_CLS, '--arch', 'a1')
    assert out.returncode != 0 and '--arch a1 is not a network the iabn format holds' in out.stderr
    withcls = save(tmp_path, 'cls.pth', dict(state_dict=R.iabn_body(R.Random(4), classes=10)))
    out, _ = convert(tmp_path, withcls, IABN_CLS, '--arch', 'a2')
    assert out.returncode != 0 and 'contradicts the file' in out.stderr


def test_init_only_converts_another_network_and_says_so(tmp_path):
    sd = R.iabn_body(R.Random(5, signed_bn=True), classes=1000)
    src = save(tmp_path, 'wider_resnet38.pth.tar', dict(state_dict=sd))
    stdout, _, ckpt = converted(tmp_path, src, NV_SEG, '--init-only', subprocess=False)
    assert '--init-only: NOT the source network' in stdout
    meta = torch.load(ckpt, weights_only=True)['meta']['converted_from']
    assert meta['init_only'] and {m['setting'] for m in meta['mismatches']} >= {
        'variant',
        'act_cfg',
    }


def test_refuses_wrong_files(tmp_path):
    params = osp.join(ROOT, 'tests', 'data', 'ademxapp', 'rna-a1_cls10.params')
    out, _ = convert(tmp_path, params, PSA_SEG)
    assert out.returncode != 0 and 'is not a PyTorch checkpoint' in out.stderr
    other = save(tmp_path, 'other.pth', {'state_dict': {'encoder.weight': torch.zeros(2)}})
    refused(tmp_path, other, PSA_SEG, 'not an IABN / NV / PSA')
    psa = save(tmp_path, 'psa.pth', R.psa_state(R.Random(6)))
    out, _ = convert(tmp_path, psa, PSA_SEG, '--format', 'iabn', '--arch', 'a2')
    assert out.returncode != 0 and 'no stem conv' in out.stderr
    # NVIDIA's trained DeepWV3Plus: its head is not mmseg's, and it has no bn_out
    nv_seg = {
        'module.' + k: v
        for k, v in R.iabn_body(R.Random(7), fmt='nv').items()
        if not k.startswith('bn_out')
    }
    nv_seg['module.aspp.features.0.0.weight'] = torch.zeros(4, 256, 1, 1)
    nv_seg['module.final.0.weight'] = torch.zeros(4, 8, 3, 3)
    refused(
        tmp_path,
        save(tmp_path, 'cityscapes_best.pth', dict(state_dict=nv_seg)),
        NV_SEG,
        'NV segmentation checkpoint (DeepWV3Plus',
    )


PSA_CAM = osp.join(
    ROOT,
    'configs',
    'wider_resnet_wsss',
    'wider-resnet38-a1-d8-cam_3rdparty-psa_2xb8-15e_voc12aug-448x448.py',
)


def test_psa_classifier_keeps_fc8_and_refuses_unknown_layers(tmp_path):
    sd = R.psa_state(R.Random(8))
    src = save(tmp_path, 'res38_cls.pth', sd)
    stdout, cfg, ckpt = converted(tmp_path, src, PSA_CAM, subprocess=False)
    assert 'psa format, psa-a1' in stdout and 'not converted' not in stdout
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert torch.equal(state['head.fc8.weight'], sd['fc8.weight'])
    worst, what = compare(Wrapped(lambda c, x, s: R.psa_forward(c, x)), sd, cfg, ckpt)
    assert worst <= 1e-5, worst
    # into a segmenter fc8 is dropped with a notice naming it
    stdout, _, _ = converted(tmp_path, src, PSA_SEG, subprocess=False)
    assert "dropped the source's CAM classifier (1 tensors: head.fc8.weight)" in stdout
    # SEAM's classifier carries PCM layers the converter does not know: refused, listed
    seam = dict(
        sd, **{'f8_3.weight': torch.zeros(4, 8, 1, 1), 'f9.weight': torch.zeros(4, 4, 1, 1)}
    )
    err = refused(tmp_path, save(tmp_path, 'seam.pth', seam), PSA_CAM)
    assert 'layers the converter does not know' in err and 'f8_3.weight, f9.weight' in err
    # PSA's classifier into the ademxapp-eps CAM config: BN eps differs, refused
    refused(
        tmp_path,
        src,
        PSA_CAM.replace('_3rdparty-psa', ''),
        'norm_cfg: the source needs BN eps 1e-05, the config has BN eps 1.001e-05',
    )
