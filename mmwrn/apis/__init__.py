"""Python APIs of mmwrn's workflows."""

from .cam import SCALE_SETS, CAMError, image_cams, init_cam_model, load_cams, run_cams, save_cams

__all__ = [
    'SCALE_SETS',
    'CAMError',
    'image_cams',
    'init_cam_model',
    'load_cams',
    'run_cams',
    'save_cams',
]
