import pytest
import torch

from mmwrn.models import BootstrappedCrossEntropyLoss


def test_bootstrapped_ce_keeps_hard_pixels():
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.6, min_kept=2)
    # 4 pixels, 2 classes; true-class probabilities 0.9, 0.5, 0.3, ignored
    p = torch.tensor([0.9, 0.5, 0.3, 0.5])
    logits = torch.stack([torch.log(p), torch.log(1 - p)]).view(1, 2, 1, 4)
    label = torch.tensor([[[0, 0, 0, 255]]])
    expected = -(torch.log(torch.tensor(0.5)) + torch.log(torch.tensor(0.3))) / 2
    torch.testing.assert_close(loss_fn(logits, label), expected)
    # fewer than min_kept pass the threshold: the min_kept hardest are kept
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.4, min_kept=2)
    torch.testing.assert_close(loss_fn(logits, label), expected)
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.4, min_kept=0)
    torch.testing.assert_close(loss_fn(logits, label), -torch.log(torch.tensor(0.3)))
    assert loss_fn(logits, torch.full_like(label, 255)) == 0


def test_bootstrapped_ce_refuses_sampler_weights_and_bad_args():
    with pytest.raises(ValueError, match='pixel sampler'):
        BootstrappedCrossEntropyLoss()(
            torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1).long(), weight=torch.ones(1, 1, 1)
        )
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        BootstrappedCrossEntropyLoss(thresh=1.5)
