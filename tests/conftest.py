import pytest
import torch

CUDA_SKIP = 'needs a CUDA device (torch.cuda.is_available() is False)'


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are skipped, with the reason, without a GPU."""
    if torch.cuda.is_available():
        return
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(pytest.mark.skip(reason=CUDA_SKIP))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _drop_new_default_scopes():
    """mmengine's default scope is process-global, and init_default_scope,
    mmseg.apis.init_model and mmpretrain.get_model set it: drop what was
    created since the fixture began (generator for the fixtures below)."""
    from mmengine.registry import DefaultScope

    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        DefaultScope._instance_dict.pop(name)


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Every test starts without the scopes an earlier test created."""
    yield from _drop_new_default_scopes()


@pytest.fixture(autouse=True, scope='module')
def _restore_default_scope_after_module():
    """The same for module-scoped fixtures (a module fixture calling
    mmseg's init_model left the 'mmseg' scope current for every later module:
    mmpretrain's inferencer then looked for its transforms in mmseg's
    registry)."""
    yield from _drop_new_default_scopes()
