from .preact_unit import PreActResidualUnit
from .sync_bn import SyncBatchNorm

__all__ = ['PreActResidualUnit', 'SyncBatchNorm']
