"""round(decimals=n) (RoundBackward1, zero gradient) and linalg.vector_norm / norm of any ord (-inf, 0,
fractional, negative: LinalgVectorNormBackward0), against PyTorch and float64 finite differences."""
import math

import numpy as np
import pytest
from helpers import check_grad, same_error

import tritongrad as tg

INF = math.inf


@pytest.mark.parametrize("decimals", [None, 0, 2, -1])
def test_round_decimals_matches_pytorch(device, torch, rng, decimals):
    data = rng.standard_normal((7, 5)) * 50
    data[0, :4] = [1.25, 1.35, 2.5, -0.125]
    kw = {} if decimals is None else {"decimals": decimals}
    x, tx = tg.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = tg.round(x, **kw), torch.round(tx, **kw)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), ty.detach().numpy())
    assert y.grad_fn.name() == ty.grad_fn.name()
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), tx.grad.numpy())
    half = data.astype(np.float16)
    np.testing.assert_array_equal(tg.tensor(half, device=device).round(**kw).cpu().numpy(),
                                  torch.tensor(half).round(**kw).numpy())


def test_round_decimals_errors_match_pytorch(torch):
    for decimals in (0, 1):
        with pytest.raises(NotImplementedError) as want:
            torch.tensor([1, 2]).round(decimals=decimals)
        with pytest.raises(NotImplementedError) as got:
            tg.tensor([1, 2]).round(decimals=decimals)
        assert str(got.value) == str(want.value)
    np.testing.assert_array_equal(tg.tensor([1, 2]).round().numpy(), [1, 2])


ORDS = [-INF, -2, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, INF]


@pytest.mark.parametrize("ord", ORDS)
def test_vector_norm_of_any_ord_matches_pytorch(device, torch, rng, ord):
    data = rng.standard_normal((3, 4, 5))
    data[0, 1, 2] = 0.0  # a zero: ord < 1's masked derivative, ord 0's count
    for dim, keepdim in ((None, False), (1, True), ((0, 2), False), (-1, False)):
        x, tx = tg.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
        y, ty = tg.linalg.vector_norm(x, ord, dim, keepdim), torch.linalg.vector_norm(tx, ord, dim, keepdim)
        np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-13, atol=1e-300)
        assert y.grad_fn.name() == ty.grad_fn.name() == "LinalgVectorNormBackward0"
        w = rng.standard_normal(ty.shape)
        y.backward(tg.tensor(w, device=device))
        ty.backward(torch.tensor(w))
        if tx.grad is None:  # ord 0: PyTorch's undefined gradient
            assert x.grad is None
        else:
            np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("ord", [o for o in ORDS if o != 0])
def test_vector_norm_gradients_match_finite_differences(device, rng, ord):
    x = tg.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    check_grad(lambda a: tg.linalg.vector_norm(a, ord, 1, True) * a, [x])


def test_norm_p_and_linalg_norm_take_the_new_ords(torch, rng):
    data = rng.standard_normal((4, 3))
    for fn in (lambda L, t: t.norm(p=-INF), lambda L, t: t.norm(p=0), lambda L, t: t.norm(p=0.5, dim=0),
               lambda L, t: L.linalg.norm(t, ord=-INF, dim=1), lambda L, t: L.linalg.norm(t[0], ord=0),
               lambda L, t: L.linalg.norm(t[:, 0], -1.5)):
        got, want = fn(tg, tg.tensor(data)), fn(torch, torch.tensor(data))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13)


BAD = {
    "empty_dim": lambda L: L.linalg.vector_norm(L.zeros(0, 3), -2, dim=-2),
    "empty_dims": lambda L: L.linalg.vector_norm(L.zeros(0, 3), -0.5, dim=(1, 0)),
    "empty_all": lambda L: L.linalg.vector_norm(L.zeros(0, 3), -INF),
    "ord_str": lambda L: L.linalg.vector_norm(L.ones(3), "fro"),
    "matrix_order": lambda L: L.linalg.norm(L.ones(3, 3), 0),
    "matrix_order_float": lambda L: L.linalg.matrix_norm(L.ones(3, 3), 0.5),
    "matrix_order_str": lambda L: L.linalg.matrix_norm(L.ones(3, 3), "abc"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_ords_raise_pytorchs_errors(case, torch):
    same_error(BAD[case], torch)
    assert tg.linalg.vector_norm(tg.zeros(0, 3), -1, dim=1).shape == (0,)  # a non-empty dim reduces
