"""mmwrn's model zoo: the generated files are up to date, every shipped config
is a model name in its host, and a missing checkpoint says how to make it
instead of leaving random weights."""

import difflib
import glob
import importlib.util
import os.path as osp
import re

import pytest
import yaml

import mmwrn  # noqa: F401
from mmwrn.model_zoo import load_model_index, missing_checkpoint_hint
from tests.helpers.conversion_matrix import cached_host_config_lookup
from tests.helpers.det import needs_mmdet
from tests.helpers.seg import ROOT, load_tiny

GENERATOR = osp.join(ROOT, 'tools', 'model_zoo', 'update_model_zoo.py')
UPDATE = 'python tools/model_zoo/update_model_zoo.py'
HOST_OF_FOLDER = {
    'wider_resnet_cls': 'mmpretrain',
    'wrn_cifar': 'mmpretrain',
    'wider_resnet_wsss': 'mmpretrain',
    'wider_resnet_seg': 'mmseg',
    'wider_resnet_det': 'mmdet',
}


def load_generator():
    spec = importlib.util.spec_from_file_location('_mmwrn_update_model_zoo', GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_configs():
    """``{name: path}`` of every config that is a model (not a base, not the demo,
    not an mmdeploy deploy config)."""
    paths = [
        p
        for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(p)) not in ('_base_', 'demo', 'deploy')
    ]
    return {osp.splitext(osp.basename(p))[0]: p for p in paths}


@needs_mmdet  # the detection configs are built from mmdet's bases
@pytest.mark.slow  # regenerates the metafiles, model index and tables of every config
def test_generated_files_are_up_to_date(tmp_path):
    generator = load_generator()
    with cached_host_config_lookup():
        files = generator.render(ROOT)
    generator.write(files, str(tmp_path))
    stale = []
    for path in sorted(files):
        with open(osp.join(ROOT, path)) as f:
            committed = f.read()
        with open(tmp_path / path) as f:
            generated = f.read()
        if committed != generated:
            diff = ''.join(
                list(
                    difflib.unified_diff(
                        committed.splitlines(True),
                        generated.splitlines(True),
                        path,
                        f'{path} (generated)',
                    )
                )[:40]
            )
            stale.append(diff)
    assert not stale, (
        f'the model zoo files are out of date: run `{UPDATE}` and commit the '
        'result.\n' + '\n'.join(stale)
    )
    assert set(files) == {
        'model-index.yml',
        'docs/en/model_zoo.md',
        'docs/en/user_guides/converting_weights.md',
    } | {
        f'configs/{folder}/{name}'
        for folder in HOST_OF_FOLDER
        for name in (
            'README.md',
            'metafile.yaml' if folder == 'wider_resnet_seg' else 'metafile.yml',
        )
    }


def test_every_config_is_a_model_of_its_host_exactly_once():
    configs = shipped_configs()
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f)['Import']
    listed = []
    for metafile in metafiles:
        with open(osp.join(ROOT, metafile)) as f:
            listed += [m['Name'] for m in yaml.safe_load(f)['Models']]
    assert sorted(listed) == sorted(configs), 'each config exactly once in the metafiles'
    index = load_model_index()
    assert sorted(index) == sorted(n.lower() for n in configs)
    for name, path in configs.items():
        entry = index[name.lower()]
        assert entry['Config'] == path
        assert entry['host'] == HOST_OF_FOLDER[osp.basename(osp.dirname(path))], name
        assert entry['Weights'] == f'checkpoints/{name}.pth'


def test_detection_models_resolve_and_say_how_to_train_them(tmp_path, monkeypatch):
    from mmwrn import get_config_path

    name = 'mask-rcnn_wider-resnet38-a1-b6_fpn_8xb2-1x_coco'
    path = get_config_path(name)
    assert path == osp.join(ROOT, 'configs', 'wider_resnet_det', f'{name}.py')
    entry = load_model_index()[name]
    assert entry['host'] == 'mmdet'
    assert [r['Task'] for r in entry['Results']] == ['Object Detection', 'Instance Segmentation']
    assert all(r['Metrics'] == {} for r in entry['Results']), 'no reported numbers exist'
    monkeypatch.chdir(ROOT)
    hint = missing_checkpoint_hint(f'checkpoints/{name}.pth')
    # mmwrn's tools/train.py runs mmseg / mmpretrain configs only: mmdet's trains these
    assert 'no published weights exist' in hint
    assert f'mim train mmdet configs/wider_resnet_det/{name}.py' in hint
    with pytest.raises(ValueError, match='not an mmwrn model name'):
        get_config_path('mask-rcnn_r50_fpn_1x_coco')


def test_mmpretrain_lists_and_builds_the_classifiers():
    import mmpretrain

    names = mmpretrain.list_models('w*')
    cls = [e['Name'] for e in load_model_index().values() if e['host'] == 'mmpretrain']
    assert cls and set(cls) <= set(names)
    model = mmpretrain.get_model('wrn-40-4_1xb128_cifar10')  # no weights asked: builds
    assert type(model.backbone).__name__ == 'WideResNet_CIFAR'


def command_paths_exist(hint):
    """The converter (or train) command in a hint names files that exist."""
    match = re.search(r'python (\S+\.py) .*--config (\S+\.py)', hint) or re.search(
        r'python (\S+/train\.py) (\S+\.py)', hint
    )
    assert match, hint
    for path in match.groups():
        assert osp.isfile(path), f'{path} in the hint does not exist:\n{hint}'


def test_get_model_pretrained_without_the_checkpoint_says_how_to_make_it(tmp_path, monkeypatch):
    import mmpretrain

    monkeypatch.chdir(tmp_path)
    # the one full-size build of this file (ImageNet A1 classifier, ~2 s on CPU)
    with pytest.raises(FileNotFoundError) as error:
        mmpretrain.get_model('wider-resnet38-a1_4xb64_in1k', pretrained=True)
    message = str(error.value)
    assert (
        'tools/model_converters/ademxapp2mmwrn.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params '
        'checkpoints/wider-resnet38-a1_4xb64_in1k.pth --config '
    ) in message
    assert 'configs/wider_resnet_cls/wider-resnet38-a1_4xb64_in1k.py' in message
    command_paths_exist(message)
    # a model without published weights: how to train it
    with pytest.raises(FileNotFoundError, match='no published weights exist') as error:
        mmpretrain.get_model('wrn-40-4_1xb128_cifar10', pretrained=True)
    assert 'configs/wrn_cifar/wrn-40-4_1xb128_cifar10.py' in str(error.value)
    command_paths_exist(str(error.value))


@pytest.mark.parametrize('way', ['config_path', 'mmseg_names'])
def test_mmseg_inferencer_without_the_checkpoint_says_how_to_make_it(tmp_path, monkeypatch, way):
    """The public way (a config path and the zoo's weights file) and the
    ``mmseg_names`` host mend (a name) both find the model and its hint."""
    from mmseg.apis import MMSegInferencer

    from mmwrn import host_mends
    from mmwrn.model_zoo import weights_of

    def inferencer(name):
        if way == 'config_path':
            return MMSegInferencer(model=mmwrn.get_config_path(name), weights=weights_of(name))
        host_mends.enable('mmseg_names')
        return MMSegInferencer(model=name)

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        inferencer('twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504')
    message = str(error.value)
    assert (
        'tools/model_converters/ademxapp2mmwrn.py voc_rna-a1_cls21_s8_ep-0001.params '
        'checkpoints/twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.pth'
    ) in message
    command_paths_exist(message)
    with pytest.raises(FileNotFoundError, match='no published weights exist'):
        inferencer('fcn_wider-resnet38-a1-d8_4xb4-80k_ade20k-512x512')


def test_every_checkpoint_a_config_starts_from_has_a_hint():
    """Each ``init_cfg`` / ``load_from`` file of the shipped configs is a
    model's checkpoint or a converted initialisation the hint explains."""
    starts = {}
    for entry in load_model_index().values():
        init = entry.get('Initialized From')
        if init:
            starts.setdefault(init['Checkpoint'], []).append(entry['Name'])
    assert 'checkpoints/wider-resnet38-a1_4xb64_in1k.pth' in starts
    for path, users in starts.items():
        hint = missing_checkpoint_hint(path)
        assert hint, f'{path}, loaded by {users}, has no hint'
        command_paths_exist(hint)
    psa = missing_checkpoint_hint('checkpoints/wider-resnet38-a1-d8_3rdparty-psa_in1k.pth')
    assert (
        'port2mmwrn.py res38_cls.pth checkpoints/wider-resnet38-a1-d8_3rdparty-psa_in1k.pth' in psa
        and 'twoconv_wider-resnet38-a1-d8_3rdparty-psa' in psa
    )
    assert missing_checkpoint_hint('checkpoints/unrelated.pth') == ''


def test_training_the_paper_config_without_imagenet_weights_names_the_converter(
    tmp_path, monkeypatch
):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    monkeypatch.chdir(tmp_path)
    path = osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
    )
    cfg = load_tiny(path)  # at tiny widths, with the shipped config's initialisation
    cfg.model.backbone.init_cfg = Config.fromfile(path).model.backbone.init_cfg
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match='ademxapp2mmwrn.py ilsvrc-cls_rna-a1_cls1000'):
        model.init_weights()
