"""linalg.svdvals and the 2, -2 and 'nuc' matrix norms (CPU: NumPy's SVD, PyTorch's derivative, first and
second order; CUDA: a clear NotImplementedError), and amax / amin, against PyTorch and finite differences."""
import numpy as np
import pytest
from helpers import check_grad

import tritongrad as tg

NORMS = {
    "svdvals": lambda L, a: L.linalg.svdvals(a),
    "two": lambda L, a: L.linalg.matrix_norm(a, 2),
    "minus_two": lambda L, a: L.linalg.matrix_norm(a, -2),
    "nuc": lambda L, a: L.linalg.matrix_norm(a, "nuc"),
    "dims_keepdim": lambda L, a: L.linalg.matrix_norm(a, 2, dim=(-1, 0), keepdim=True),
    "norm": lambda L, a: L.linalg.norm(a[0], "nuc") + L.linalg.norm(a[-1], -2),
    "tensor_norm": lambda L, a: a[0].norm(p="nuc"),
}


@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 3, 3), (2, 2, 5)])
@pytest.mark.parametrize("name", NORMS)
def test_svd_norms_match_pytorch(torch, rng, name, shape):
    data = rng.standard_normal(shape)
    a, ta = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = NORMS[name](tg, a), NORMS[name](torch, ta)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(ty.shape)
    (g,) = tg.autograd.grad((y * tg.tensor(w)).sum(), a, create_graph=True)
    (tgr,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), ta, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tgr.detach().numpy(), rtol=1e-9, atol=1e-12)
    v = rng.standard_normal(shape)
    (h,) = tg.autograd.grad((g * tg.tensor(v)).sum(), a)
    (th,) = torch.autograd.grad((tgr * torch.tensor(v)).sum(), ta)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_svdvals_gradients_match_finite_differences(rng, shape):
    check_grad(lambda a: tg.linalg.svdvals(a) * 1.0, [tg.tensor(rng.standard_normal(shape), requires_grad=True)])
    check_grad(lambda a: tg.linalg.svdvals(a * a.sum()) ** 2, [tg.tensor(rng.standard_normal(shape),
                                                                         requires_grad=True)])


def test_svd_node_is_pytorchs(torch, rng):
    data = rng.standard_normal((3, 2))
    s, ts = tg.linalg.svdvals(tg.tensor(data, requires_grad=True)), torch.linalg.svdvals(
        torch.tensor(data, requires_grad=True))
    assert s.grad_fn.name() == ts.grad_fn.name() == "LinalgSvdBackward0" and s.output_nr == ts.output_nr == 1
    node = s.grad_fn
    assert node._saved_full_matrices is False and node._saved_S_sym_argsize_minus_1 == 2
    np.testing.assert_allclose(node._saved_S.detach().numpy(), ts.grad_fn._saved_S.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(np.abs(node._saved_U.detach().numpy()), np.abs(ts.grad_fn._saved_U.detach().numpy()),
                               rtol=1e-12)


def test_cuda_raises_a_clear_not_implemented_error(device):
    a = tg.ones(3, 3, device=device)
    if device == "cpu":
        np.testing.assert_allclose(tg.linalg.matrix_norm(a, 2).item(), 3.0, rtol=1e-6)
        return
    for fn in (tg.linalg.svdvals, lambda t: tg.linalg.matrix_norm(t, "nuc"), lambda t: t.norm(p="nuc")):
        with pytest.raises(NotImplementedError, match="no SVD kernel for CUDA yet"):
            fn(a)


BAD = {
    "one_dim": lambda L: L.linalg.svdvals(L.ones(3)),
    "integer": lambda L: L.linalg.svdvals(L.ones(3, 3, dtype=L.int64)),
    "half": lambda L: L.linalg.svdvals(L.ones(3, 3, dtype=L.float16)),
    "order": lambda L: L.ones(3, 3).norm(p="abc"),
    "amax_empty": lambda L: L.zeros(0, 3).amax(),
    "amin_empty_dim": lambda L: L.zeros(0, 3).amin((1, 0)),
}


@pytest.mark.parametrize("case", BAD)
def test_errors_match_pytorch(case, torch):
    with pytest.raises(Exception) as want:
        BAD[case](torch)
    with pytest.raises(Exception) as got:
        BAD[case](tg)
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)


def test_empty_matrices_have_norm_zero(torch):
    with pytest.raises(IndexError, match=r"amin\(\): Expected reduction dim -1 to have non-zero size."):
        tg.linalg.matrix_norm(tg.zeros(2, 0, 3), -2)
    for o in (2, "nuc"):
        np.testing.assert_array_equal(tg.linalg.matrix_norm(tg.zeros(2, 0, 3), o).numpy(),
                                      torch.linalg.matrix_norm(torch.zeros(2, 0, 3), o).numpy())


AMAX = {
    "amax_dim": lambda L, a: a.amax(1),
    "amin_dims_keepdim": lambda L, a: L.amin(a, (0, 2), keepdim=True),
    "amax_all": lambda L, a: a.amax(),
    "amin_neg": lambda L, a: a.amin(-1),
}


@pytest.mark.parametrize("name", AMAX)
def test_amax_amin_match_pytorch_with_ties(device, torch, rng, name):
    data = np.round(rng.standard_normal((3, 4, 5)), 0)  # NOTE: many ties: the gradient is shared among them
    a, ta = tg.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = AMAX[name](tg, a), AMAX[name](torch, ta)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), ty.detach().numpy())
    assert y.grad_fn.name() == ty.grad_fn.name()
    w = rng.standard_normal(ty.shape)
    y.backward(tg.tensor(w, device=device))
    ty.backward(torch.tensor(w))
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-13)


def test_amax_amin_gradients_match_finite_differences(device, rng):
    x = tg.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    check_grad(lambda a: a.amax(0) * a.amin(1, keepdim=True), [x])
