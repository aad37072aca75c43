"""The losses of issue 15 item 6 (L1, SmoothL1, Huber, BCE, BCEWithLogits): values and gradients
against PyTorch and float64 finite differences on both devices, stability at extreme logits,
their modules, and PyTorch's errors.
"""
import numpy as np
import pytest
from helpers import check_grad, randn

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad import nn

SHAPE = (7, 5)
REDUCTIONS = ["mean", "sum", "none"]


def reductions(device):
    """Every reduction on the CPU; one on CUDA, where the emulator is slow (the reductions are the
    same Tensor ops on both devices)."""
    return REDUCTIONS if device == "cpu" else ["sum"]


def tt(torch, t, requires_grad=False):
    return torch.tensor(t.detach().cpu().numpy(), requires_grad=requires_grad)


def close(a, b, **tol):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), **(tol or dict(atol=1e-12, rtol=1e-10)))


def compare(torch, name, inputs, grad_of, reduction, **kwargs):
    """Value and the gradients of the inputs in `grad_of` (indices), ours against PyTorch's."""
    ours = getattr(F, name)(*inputs, reduction=reduction, **kwargs)
    theirs_in = [tt(torch, t, requires_grad=i in grad_of) for i, t in enumerate(inputs)]
    tkw = {k: tt(torch, v) if isinstance(v, tg.Tensor) else v for k, v in kwargs.items()}
    theirs = getattr(torch.nn.functional, name)(*theirs_in, reduction=reduction, **tkw)
    close(ours, theirs)
    w = np.random.default_rng(3).standard_normal(ours.shape)
    ours.backward(tg.tensor(w, device=ours.device))
    theirs.backward(torch.tensor(w))
    for i in grad_of:
        close(inputs[i].grad, theirs_in[i].grad)


@pytest.mark.parametrize("name,kwargs", [("l1_loss", {}), ("smooth_l1_loss", dict(beta=0.5)),
                                         ("smooth_l1_loss", dict(beta=0.0)), ("smooth_l1_loss", {}),
                                         ("huber_loss", dict(delta=0.7)), ("huber_loss", {})])
def test_regression_losses_match_torch(torch, device, rng, name, kwargs):
    for reduction in reductions(device):
        x, y = randn(rng, SHAPE, device), randn(rng, SHAPE, device)
        compare(torch, name, [x, y], (0, 1), reduction, **kwargs)


def test_regression_losses_at_ties_and_weights(torch, rng):
    """input == target gives gradient 0, as PyTorch's; l1 and huber take PyTorch's `weight`."""
    x = randn(rng, SHAPE)
    y = tg.tensor(x.detach().numpy().copy())
    y.numpy()[0] += 1.5
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        x.grad = None
        compare(torch, name, [x, y], (0,), "mean")
    weight = randn(rng, SHAPE, requires_grad=False, positive=True)
    for name in ("l1_loss", "huber_loss"):
        for reduction in REDUCTIONS:
            x.grad = None
            compare(torch, name, [x, y], (0,), reduction, weight=weight)


def test_bce_matches_torch(torch, device, rng):
    for reduction in reductions(device):
        p = tg.tensor(rng.uniform(0.05, 0.95, SHAPE), device=device, requires_grad=True)
        y = tg.tensor(rng.uniform(0, 1, SHAPE), device=device)
        compare(torch, "binary_cross_entropy", [p, y], (0,), reduction)
        p.grad = None
        compare(torch, "binary_cross_entropy", [p, y], (0,), reduction,
                weight=tg.tensor(rng.uniform(0.5, 2, SHAPE[1:]), device=device))


def test_bce_with_logits_matches_torch(torch, device, rng):
    for reduction in reductions(device):
        x, y = randn(rng, SHAPE, device), tg.tensor(rng.uniform(0, 1, SHAPE), device=device, requires_grad=True)
        compare(torch, "binary_cross_entropy_with_logits", [x, y], (0, 1), reduction)
        x.grad = y.grad = None
        w = tg.tensor(rng.uniform(0.5, 2, SHAPE), device=device)
        pw = tg.tensor(rng.uniform(0.5, 3, SHAPE[1:]), device=device)
        compare(torch, "binary_cross_entropy_with_logits", [x, y], (0, 1), reduction, weight=w, pos_weight=pw)


def test_bce_with_logits_extreme_and_zero_logits(torch, device):
    """No overflow at |x| = 800, full precision at |x| = 40, and the gradient sigmoid(0) - y at x = 0
    (a max(x, 0) + log1p(exp(-|x|)) composition would give 1 - y there)."""
    x = tg.tensor([-800.0, -40.0, -1e-12, 0.0, 0.0, 1e-12, 40.0, 800.0], dtype=tg.float64, device=device,
                  requires_grad=True)
    y = tg.tensor([1.0, 1.0, 0.3, 0.0, 1.0, 0.5, 0.0, 0.0], dtype=tg.float64, device=device)
    compare(torch, "binary_cross_entropy_with_logits", [x, y], (0,), "none")
    x.grad = None
    pos_weight = tg.tensor([2.5], dtype=tg.float64, device=device)
    compare(torch, "binary_cross_entropy_with_logits", [x, y], (0,), "sum", pos_weight=pos_weight)


def test_bce_at_zero_and_one(torch):
    """Probabilities of exactly 0 and 1: PyTorch's clamped value (100 per wrong element), and a finite
    gradient (the clamped formula's; PyTorch's is (p - y) / 1e-12)."""
    p = tg.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=tg.float64, requires_grad=True)
    y = tg.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=tg.float64)
    ours = F.binary_cross_entropy(p, y, reduction="none")
    close(ours, torch.nn.functional.binary_cross_entropy(tt(torch, p), tt(torch, y), reduction="none"))
    ours.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


@pytest.mark.parametrize("name,make", [
    ("l1_loss", lambda x, y: F.l1_loss(x, y)), ("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.8)),
    ("huber_loss", lambda x, y: F.huber_loss(x, y, reduction="sum", delta=0.6)),
    ("bce_with_logits", lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=y[0] ** 2 + 1)),
    ("bce", lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), reduction="none"))])
def test_losses_finite_differences(device, rng, name, make):
    x, y = randn(rng, (4, 3), device, away_from=0.0), randn(rng, (4, 3), device)
    # NOTE: keep |x - y| off the branch points 0, beta and delta
    check_grad(make, [x, y])


def test_loss_modules(torch, rng):
    x, y = randn(rng, SHAPE), tg.tensor(rng.uniform(0, 1, SHAPE))
    pw = tg.tensor(rng.uniform(0.5, 2, SHAPE[1:]))
    cases = [(nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), False),
             (nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3), False),
             (nn.HuberLoss(delta=0.4, reduction="none"), torch.nn.HuberLoss(delta=0.4, reduction="none"), False),
             (nn.BCELoss(weight=pw), torch.nn.BCELoss(weight=tt(torch, pw)), True),
             (nn.BCEWithLogitsLoss(pos_weight=pw), torch.nn.BCEWithLogitsLoss(pos_weight=tt(torch, pw)), False)]
    for ours, theirs, probs in cases:
        inp = x.sigmoid() if probs else x
        close(ours(inp, y), theirs(tt(torch, inp), tt(torch, y)))
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_loss_errors_match_torch(torch):
    x, y = tg.rand(3), tg.rand(3)
    tx, ty = tt(torch, x), tt(torch, y)
    calls = [
        lambda F, a, b: F.binary_cross_entropy(a, b.reshape(3, 1)),
        lambda F, a, b: F.binary_cross_entropy(a + 2, b),
        lambda F, a, b: F.binary_cross_entropy(a, b + 2),
        lambda F, a, b: F.binary_cross_entropy(a, b.double()),
        lambda F, a, b: F.binary_cross_entropy_with_logits(a, b.reshape(3, 1)),
        lambda F, a, b: F.smooth_l1_loss(a, b, beta=-1),
        lambda F, a, b: F.huber_loss(a, b, delta=0),
        lambda F, a, b: F.l1_loss(a, b, weight=b[:2]),
        lambda F, a, b: F.l1_loss(a, b, reduction="avg"),
    ]
    for call in calls:
        with pytest.raises(Exception) as theirs:
            call(torch.nn.functional, tx, ty)
        with pytest.raises(type(theirs.value)) as ours:
            call(F, x, y)
        assert str(ours.value) == str(theirs.value).replace("torch.", "tritongrad.")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(x, y.reshape(3, 1))
