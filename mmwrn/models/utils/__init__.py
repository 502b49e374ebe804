from .preact_unit import PreActResidualUnit

__all__ = ['PreActResidualUnit']
