"""linalg.svdvals and the 2, -2 and 'nuc' matrix norms (CPU: NumPy's SVD; CUDA: kernels/linalg.py's Jacobi
SVD, both of its kernels; PyTorch's derivative, first and second order), and amax / amin, against PyTorch
and finite differences.
Singular vectors' signs are arbitrary: the factors are checked through sign-free facts (S, U diag(S) Vh = A,
orthonormal columns) and through the norms, whose values and gradients do not depend on the signs."""
import numpy as np
import pytest
from helpers import check_grad, same_error

import tritongrad as tg
from tritongrad.ops import svd as SVD

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
def test_svd_norms_match_pytorch(device, torch, rng, name, shape):
    data = rng.standard_normal(shape)
    a, ta = tg.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = NORMS[name](tg, a), NORMS[name](torch, ta)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(ty.shape)
    (g,) = tg.autograd.grad((y * tg.tensor(w, device=device)).sum(), a, create_graph=True)
    (tgr,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), ta, create_graph=True)
    np.testing.assert_allclose(g.detach().cpu().numpy(), tgr.detach().numpy(), rtol=1e-9, atol=1e-12)
    v = rng.standard_normal(shape)
    (h,) = tg.autograd.grad((g * tg.tensor(v, device=device)).sum(), a)
    (th,) = torch.autograd.grad((tgr * torch.tensor(v)).sum(), ta)
    np.testing.assert_allclose(h.cpu().numpy(), th.numpy(), rtol=1e-7, atol=1e-9)


FIRST_ORDER = {
    "svdvals": lambda L, a: L.linalg.svdvals(a),
    "two": lambda L, a: L.linalg.matrix_norm(a, 2),
    "minus_two": lambda L, a: L.linalg.matrix_norm(a, -2),
    "nuc": lambda L, a: L.linalg.matrix_norm(a, "nuc"),
    "norm_two": lambda L, a: L.linalg.norm(a, 2, dim=(-2, -1)),
    "tensor_nuc": lambda L, a: a.norm(p="nuc", dim=(-2, -1)),
}
SHAPES = [(5, 3), (3, 5), (4, 4), (2, 6, 4), (2, 1, 3, 5), (1, 1), (7, 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", FIRST_ORDER)
def test_svd_norms_per_dtype_match_pytorch(device, torch, rng, name, shape, dtype):
    _norm_matches_pytorch(device, torch, rng, name, shape, dtype)


def _norm_matches_pytorch(device, torch, rng, name, shape, dtype):
    """FIRST_ORDER[name]'s value and gradient (shape, dtype) against PyTorch's, at the dtype's tolerance."""
    data = rng.standard_normal(shape)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-11, atol=1e-12)
    a = tg.tensor(data, dtype=getattr(tg, dtype), device=device, requires_grad=True)
    ta = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)
    y, ty = FIRST_ORDER[name](tg, a), FIRST_ORDER[name](torch, ta)
    assert tuple(y.shape) == tuple(ty.shape) and y.dtype == a.dtype
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), **tol)
    w = rng.standard_normal(ty.shape)
    y.backward(tg.tensor(w, dtype=a.dtype, device=device))
    ty.backward(torch.tensor(w, dtype=ta.dtype))
    assert a.grad.dtype == a.dtype
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES + [(9, 2, 2), (3, 17, 6), (12, 20)])
def test_svd_factors(device, torch, rng, shape, dtype):
    """U (..., m, k) and Vh (..., k, n) with orthonormal columns / rows, S descending (PyTorch's and
    NumPy's singular values), U diag(S) Vh = A."""
    data = rng.standard_normal(shape)
    eps = 1e-5 if dtype == "float32" else 1e-13
    u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, dtype=getattr(tg, dtype), device=device)))
    m, n = shape[-2:]
    k = min(m, n)
    assert u.shape == shape[:-2] + (m, k) and s.shape == shape[:-2] + (k,) and vh.shape == shape[:-2] + (k, n)
    assert u.dtype == s.dtype == vh.dtype == np.dtype(dtype)
    want = torch.linalg.svdvals(torch.tensor(data)).numpy()
    np.testing.assert_allclose(s, want, rtol=eps, atol=eps * want.max())
    assert (np.diff(s, axis=-1) <= 0).all()
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, data, atol=10 * eps * want.max())
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(k), s.shape + (k,)), atol=10 * eps)
    np.testing.assert_allclose(vh @ np.swapaxes(vh, -1, -2), np.broadcast_to(np.eye(k), s.shape + (k,)), atol=10 * eps)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_svdvals_gradients_match_finite_differences(device, rng, shape):
    check_grad(lambda a: tg.linalg.svdvals(a) * 1.0, [tg.tensor(rng.standard_normal(shape), device=device,
                                                                requires_grad=True)])
    check_grad(lambda a: tg.linalg.svdvals(a * a.sum()) ** 2, [tg.tensor(rng.standard_normal(shape), device=device,
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


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rank_deficient_singular_values(device, rng, dtype):
    """S (zeros included) and U diag(S) Vh = A stay right; U's columns for a zero singular value are
    not checked: the CUDA kernel leaves them zero (kernels/linalg.py), LAPACK completes them."""
    eps = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(tg.linalg.matrix_norm(tg.ones(3, 3, device=device, dtype=getattr(tg, dtype)),
                                                     2).item(), 3.0, rtol=eps)
    data = rng.standard_normal((2, 6, 2)) @ rng.standard_normal((2, 2, 4))  # rank 2 of 4
    u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, dtype=getattr(tg, dtype), device=device)))
    want = np.linalg.svd(data, compute_uv=False)
    np.testing.assert_allclose(s, want, atol=10 * eps * want.max())
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, data, atol=10 * eps * want.max())


def test_cuda_sizes_and_errors(device, rng):
    """Sizes past the register kernel's bounds (kernels/linalg.py's global-memory kernel on CUDA), the
    errors (half; 2^31 elements), NaN in NaN out, empty matrices. NOTE: (65, 65) takes about two minutes
    under the interpreter; the test_big_kernel_* tests force that kernel on small matrices instead."""
    if device == "cpu":  # NOTE: LAPACK's sizes
        data = rng.standard_normal((65, 70))
        np.testing.assert_allclose(tg.linalg.svdvals(tg.tensor(data)).numpy(), np.linalg.svd(data, compute_uv=False),
                                   rtol=1e-12)
        return
    for shape in ((3, 257), (300, 2)):
        data = rng.standard_normal(shape)
        u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, device=device)))
        want = np.linalg.svd(data, compute_uv=False)
        np.testing.assert_allclose(s, want, rtol=1e-13)
        np.testing.assert_allclose((u * s[..., None, :]) @ vh, data, atol=1e-13 * want.max())
    with pytest.raises(NotImplementedError, match="float32 or float64, not float16"):
        tg.linalg.svdvals(tg.ones(3, 3, device=device, dtype=tg.float16))
    with pytest.raises(NotImplementedError, match="below 2\\^31 elements, not 46341 x 46341"):
        tg.linalg.svdvals(tg.ones(1, 1, device=device).expand(46341, 46341))  # NOTE: a view: nothing allocated
    s = tg.linalg.svdvals(tg.tensor([[1.0, float("nan")], [2.0, 3.0]], device=device)).cpu().numpy()
    assert np.isnan(s).all()  # NOTE: NaN in, NaN out (the kernel cannot raise as LAPACK does)
    for shape in ((0, 3), (3, 0), (0, 2, 2)):
        u, s, vh = SVD.svd(tg.ones(*shape, device=device))
        assert u.shape == shape[:-2] + (shape[-2], min(shape[-2:])) and s.numel() == 0


@pytest.fixture
def big_kernel(monkeypatch):
    """CUDA, with kernels/linalg.py's global-memory kernel forced on small matrices: the register kernel's
    bounds at 0, and row blocks of 4 so that the row loops run several times, the last block ragged
    (the shapes below have 5, 6, 7 or 9 rows in W)."""
    if not tg.cuda.is_available():
        pytest.skip("no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
    from tritongrad.kernels import linalg as L

    for name, value in (("MAX_K", 0), ("MAX_MN", 0), ("BIG_BLOCK_M", 4)):
        monkeypatch.setattr(L, name, value)
    return "cuda"


BIG_SHAPES = [(5, 3), (3, 5), (9, 4), (2, 7, 6), (6, 6), (1, 1), (7, 1)]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", BIG_SHAPES)
def test_big_kernel_factors(big_kernel, rng, shape, dtype):
    """test_svd_factors' checks on the global-memory kernel, against NumPy's singular values."""
    data = rng.standard_normal(shape)
    eps = 1e-5 if dtype == "float32" else 1e-13
    u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, dtype=getattr(tg, dtype), device=big_kernel)))
    m, n = shape[-2:]
    k = min(m, n)
    assert u.shape == shape[:-2] + (m, k) and s.shape == shape[:-2] + (k,) and vh.shape == shape[:-2] + (k, n)
    assert u.dtype == s.dtype == vh.dtype == np.dtype(dtype)
    want = np.linalg.svd(data, compute_uv=False)
    np.testing.assert_allclose(s, want, rtol=eps, atol=eps * want.max())
    assert (np.diff(s, axis=-1) <= 0).all()
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, data, atol=10 * eps * want.max())
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(k), s.shape + (k,)), atol=10 * eps)
    np.testing.assert_allclose(vh @ np.swapaxes(vh, -1, -2), np.broadcast_to(np.eye(k), s.shape + (k,)), atol=10 * eps)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_big_kernel_rank_deficient_and_nan(big_kernel, rng, dtype):
    """Zero singular values (ties among them ranked by index), and NaN / inf in, NaN out."""
    eps = 1e-5 if dtype == "float32" else 1e-13
    dt = getattr(tg, dtype)
    np.testing.assert_allclose(tg.linalg.svdvals(tg.ones(5, 3, device=big_kernel, dtype=dt)).cpu().numpy(),
                               [15 ** 0.5, 0, 0], atol=10 * eps)
    data = rng.standard_normal((2, 6, 2)) @ rng.standard_normal((2, 2, 5))  # rank 2 of 5
    u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, dtype=dt, device=big_kernel)))
    want = np.linalg.svd(data, compute_uv=False)
    np.testing.assert_allclose(s, want, atol=10 * eps * want.max())
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, data, atol=10 * eps * want.max())
    for bad in (float("nan"), float("inf")):
        data = rng.standard_normal((2, 5, 3))
        data[1, 4, 0] = bad
        u, s, vh = (t.cpu().numpy() for t in SVD.svd(tg.tensor(data, dtype=dt, device=big_kernel)))
        assert np.isnan(s[1]).all() and np.isnan(u[1]).all() and np.isnan(vh[1]).all()
        np.testing.assert_allclose(s[0], np.linalg.svd(data[0], compute_uv=False), rtol=eps)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 5)])
@pytest.mark.parametrize("name", FIRST_ORDER)
def test_big_kernel_norms_match_pytorch(big_kernel, torch, rng, name, shape, dtype):
    """The norms and their gradients through the global-memory kernel's factors, against PyTorch."""
    _norm_matches_pytorch(big_kernel, torch, rng, name, shape, dtype)


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
    same_error(BAD[case], torch)


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
