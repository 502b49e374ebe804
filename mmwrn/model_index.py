"""Makes mmwrn's classification configs findable by name through mmpretrain:
``mmpretrain.get_model('wider-resnet38-a1_4xb64_in1k')``."""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_INDEX = osp.join(ROOT, 'model-index.yml')


def register_model_index():
    """Register ``model-index.yml`` (beside the package in a source checkout
    or editable install; the configs live there) in mmpretrain's ModelHub.
    Returns whether it was registered."""
    from mmpretrain.apis import ModelHub
    if not osp.isfile(MODEL_INDEX):
        return False
    if not ModelHub.has('wider-resnet38-a1_4xb64_in1k'):
        ModelHub.register_model_index(MODEL_INDEX, config_prefix=ROOT)
    return True
