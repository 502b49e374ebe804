import pytest
import torch

# Reduced widths: the real layouts (units per level, unit types) at a cost a
# 2-core CI can afford. Parameter counts are tested on the real widths.
TINY_CHANNELS = ((4, 4), (8, 8), (8, 8), (8, 16), (8, 16, 32), (16, 32, 64))
TINY_WIDER = dict(stem_channels=8, channels=TINY_CHANNELS)
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


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """mmengine's default scope is process-global, and init_default_scope,
    mmseg.apis.init_model and mmpretrain.get_model set it: drop what a test
    created, so that every test starts without one."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        DefaultScope._instance_dict.pop(name)
