from .bootstrapped_ce_loss import BootstrappedCrossEntropyLoss

__all__ = ['BootstrappedCrossEntropyLoss']
