"""Every published source x every shipped config is exact or refused
(tests/helpers/conversion_matrix.py), and the configs that fit each source take its
full-size file: every name and shape, checked on the meta device."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmwrn.converters import SOURCES, convert_port, read_checkpoint
from mmwrn.converters.ademxapp import ademxapp_target, kind_of, strip_prefixes
from mmwrn.converters.ports import fold_inplace_abn
from tests.helpers import source_networks as R
from tests.helpers.conversion_matrix import ALL_SOURCES, format_table, run_matrix
from tests.helpers.seg import ROOT

# the real widths (WiderResNet.level_channels)
STEM = 64
CHANNELS = ((128, 128), (256, 256), (512, 512), (512, 1024), (512, 1024, 2048), (1024, 2048, 4096))


@pytest.mark.slow
def test_every_source_into_every_shipped_config_is_exact_or_refused():
    rows = run_matrix()
    print(format_table(rows))
    wrong = [row for row in rows if row[2] == 'WRONG']
    assert not wrong, format_table(wrong)
    exact = {}
    for source, config, status, _ in rows:
        if status == 'exact':
            exact.setdefault(source.name, set()).add(config)
    for source in ALL_SOURCES:
        fitting = exact.get(source.name, set())
        assert fitting, f'no shipped config reproduces {source.name}'
        listed = set(SOURCES[source.key]['configs'])
        if source.head != 'twoconv':  # an ademxapp segmenter fits its own dataset only
            assert listed <= fitting, (source.name, listed - fitting)
        # the refusal message names only configs that fit
        assert fitting & listed, source.name
    # a config built only up to B6 takes a full network's weights (B7 dropped, printed)
    assert (
        osp.join(
            'configs',
            'wider_resnet_seg',
            'deeplabv3plus_wider-resnet38-a1-b6-d8_4xb4-80k_ade20k-512x512.py',
        )
        in exact['PSA resnet38d (res38_cls.pth)']
    )


def full_size(source):
    """(state dict on the meta device, converted names -> shapes) of the
    real-size file of ``source``; ``head``: the source's head kind."""
    rng = R.Shapes()
    if source.family == 'ademxapp':
        classes = int(source.file.split('_cls')[1].split('_')[0])
        params = R.ademxapp_params(
            rng,
            head='cls' if source.head == 'linear' else 'seg',
            classes=classes,
            head_channels=512,
            channels=CHANNELS,
            stem=STEM,
        )
        params = strip_prefixes(params)
        kind = kind_of(params)
        return {ademxapp_target(k, kind, v.ndim): v.shape for k, v in params.items()}
    if source.family == 'psa':
        checkpoint = R.psa_state(rng, channels=CHANNELS, stem=STEM)
    elif source.head == 'iabn-deeplabv3':
        body = R.iabn_body(rng, channels=CHANNELS, stem=STEM)
        head, cls = R.iabn_deeplab_head(rng, 4096, 256, 65)
        checkpoint = dict(state_dict=dict(body=body, head=head, cls=cls))
    else:
        checkpoint = dict(
            state_dict=R.iabn_body(
                rng, fmt=source.family, classes=1000, channels=CHANNELS, stem=STEM
            )
        )
    parts, _ = read_checkpoint(checkpoint)
    state, _ = convert_port(parts, source.family)
    if source.family == 'iabn':
        fold_inplace_abn(state)
    return {k: v.shape for k, v in state.items()}


@pytest.mark.parametrize('source', ALL_SOURCES, ids=lambda s: s.name)
def test_full_size_names_and_shapes(source):
    converted = full_size(source)
    configs = SOURCES[source.key]['configs']
    if source.head == 'twoconv':  # its own dataset's config
        dataset = {'21': 'voc12aug', '19': 'cityscapes', '150': 'ade20k'}[
            source.file.split('_cls')[1].split('_')[0]
        ]
        configs = [c for c in configs if dataset in c or 'wider_resnet_cls' in c]
    for config in configs:
        cfg = Config.fromfile(osp.join(ROOT, config))
        registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
        with DefaultScope.overwrite_default_scope(cfg.default_scope), torch.device('meta'):
            model = registry.build(cfg.model)
        target = {
            k: v.shape
            for k, v in model.state_dict().items()
            if not k.endswith('num_batches_tracked')
        }
        other_head = 'head.' if hasattr(model, 'decode_head') else 'decode_head.'
        kept = {k: s for k, s in converted.items() if not k.startswith(other_head)}
        assert {k: target.get(k) for k in kept} == kept, config
        backbone = {k for k in target if k.startswith('backbone.')}
        assert backbone <= set(kept), (config, sorted(backbone - set(kept))[:5])
        for head in ('head.', 'decode_head.'):
            if any(k.startswith(head) for k in kept):  # a converted head is whole
                assert {k for k in target if k.startswith(head)} == {
                    k for k in kept if k.startswith(head)
                }, config
        # the backbone of the paper's depth 38 (architecture notes: 105,070,912
        # parameters through bn7, BN affine included)
        assert (
            sum(p.numel() for n, p in model.named_parameters() if n.startswith('backbone.'))
            == 105070912
        )
