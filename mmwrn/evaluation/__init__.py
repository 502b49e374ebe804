"""Metrics, registered in mmengine's ``METRICS`` (found from every scope)."""

from .cam_metric import CAMMIoUMetric, cams_to_label, confusions, miou

__all__ = ['CAMMIoUMetric', 'cams_to_label', 'confusions', 'miou']
