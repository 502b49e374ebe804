from .cam_cls_head import CAMClsHead

__all__ = ['CAMClsHead']
