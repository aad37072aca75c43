"""The CUDA backend's reductions (reduce, arg_reduce) against CPUBackend (NumPy): every op and dtype,
dims sets that take the direct strided path, the copy path and the two-stage split path.
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_reduction.py
"""
import zlib

import numpy as np
import pytest
from helpers import CUDA_BACKEND as G
from test_kernels_elementwise import FLOATS, INTS, TOL, back, dev, host

import tritongrad.cuda
from tritongrad import _dtype as D
from tritongrad.backends.cpu import CPUBackend as C

pytestmark = [pytest.mark.skipif(not tritongrad.cuda.is_available(), reason="no CUDA device (or emulation)"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

OPS = ["sum", "mean", "amax", "amin", "all", "any", "prod"]
CASES = [((33, 65), ()), ((33, 65), (0,)), ((33, 65), (1,)), ((33, 65), (-1, 0)), ((3, 1, 17), (1,)),
         ((3, 1, 17), (0, 2)), ((4, 5, 6), (1,)), ((4, 5, 6), (0, 2)), ((97,), ()), ((), ()), ((97,), (0,))]


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))  # fresh per test, reproducible


def data(shape, dtype, op, rng):
    if op == "prod":
        return host(shape, dtype, rng, 0.5, 1.5) if dtype in FLOATS else host(shape, dtype, rng, -2, 2)
    if op in ("all", "any") and dtype is not D.bool_:
        h = host(shape, dtype, rng, -1, 1)  # plenty of zeros
        return h
    return host(shape, dtype, rng, -3, 3)


def reference(op, h, dims, keepdim, dtype):
    if dtype in FLOATS and op in ("sum", "mean", "prod"):  # NOTE: we accumulate in fp32 / fp64
        return C.reduce(op, h.astype(np.float64), dims, keepdim)
    return C.reduce(op, h, dims, keepdim)


def check_reduce(out, ref, dtype, op):
    got = back(out)
    assert got.shape == ref.shape
    if op in ("all", "any"):
        assert out.dtype is D.bool_
        np.testing.assert_array_equal(got, ref)
    elif dtype in FLOATS:
        tol = dict(TOL[dtype])
        if dtype is D.float32:
            tol["rtol"] = 1e-5 if op != "prod" else 1e-4
        np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), equal_nan=True, **tol)
    else:
        assert out.dtype is {"mean": D.float64, "sum": D.int64, "prod": D.int64}.get(op, dtype)
        np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("dtype", FLOATS + INTS + [D.bool_], ids=str)
@pytest.mark.parametrize("op", OPS)
def test_reduce(op, dtype, rng):
    if dtype is D.bool_ and op == "prod" or dtype not in FLOATS and op == "mean":
        pytest.skip("refused by ops (as PyTorch)")
    for i, (shape, dims) in enumerate(CASES):
        h = data(shape, dtype, op, rng)
        keepdim = bool(i % 2)
        check_reduce(G.reduce(op, dev(h, dtype), dims, keepdim), reference(op, h, dims, keepdim, dtype), dtype, op)


@pytest.mark.parametrize("op", OPS)
def test_reduce_views_and_split(op, rng):
    """Transposed and offset views (direct strided path) and the two-stage path (forced)."""
    from tritongrad.kernels import reduction as R
    dtype = D.float32 if op not in ("all", "any") else D.int32
    base = data((40, 70), dtype, op, rng)
    a = dev(base, dtype)
    views = [((slice(3, 36), slice(2, 67)), base[3:36, 2:67]), ((slice(None, None, 2), slice(1, 60, 3)),
                                                                base[::2, 1:60:3])]
    for idx, h in views:
        v = G.index(a, idx)
        for dims in [(), (0,), (1,)]:
            check_reduce(G.reduce(op, v, dims, False), reference(op, h, dims, False, dtype), dtype, op)
            check_reduce(G.reduce(op, G.permute(v, (1, 0)), dims, True), reference(op, h.T, dims, True, dtype),
                         dtype, op)
            for split in (2, 5):
                check_reduce(R.reduce(op, v, dims, False, _split=split), reference(op, h, dims, False, dtype),
                             dtype, op)


def test_reduce_split_heuristic():
    """On a GPU, few long rows are split across programs; coalescing follows the unit stride."""
    from tritongrad.kernels import reduction as R
    if R.U.INTERPRET:
        pytest.skip("the interpreter never splits")
    bm, br, split, warps = R._tiles(1, 10**7, 0, 1)
    assert split > 64 and br == R.TILE // 4 and warps == R.WARPS
    bm, br, split, warps = R._tiles(65536, 1024, 1024, 1)  # short contiguous rows: narrow tiles, 4 warps
    assert (bm, br, split, warps) == (R.TILE_NARROW // 1024, 1024, 1, 4)
    bm, br, split, warps = R._tiles(4096, 512, 1, 4096)
    assert bm == 256 and split == 1


def test_reduce_nan_inf_and_empty(rng):
    h = host((5, 17), D.float32, rng)
    h[1, 3] = np.nan
    h[2, :] = -np.inf
    h[3, :] = np.nan
    for op in ("amax", "amin", "sum", "mean", "prod"):
        for dims in [(), (0,), (1,)]:
            check_reduce(G.reduce(op, dev(h, D.float32), dims, False), C.reduce(op, h, dims, False), D.float32, op)
    e = G.empty((0, 4), D.float32)
    for op, val in [("sum", 0), ("prod", 1), ("all", True), ("any", False)]:
        np.testing.assert_array_equal(back(G.reduce(op, e, (0,), False)), np.full(4, val))
    assert np.isnan(back(G.reduce("mean", e, (), False)))
    assert back(G.reduce("sum", e, (1,), True)).shape == (0, 1)
    with pytest.raises(ValueError):
        G.reduce("amax", e, (0,), False)


@pytest.mark.parametrize("dtype", FLOATS + INTS + [D.bool_], ids=str)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce(op, dtype, rng):
    for i, (shape, dim) in enumerate([((33, 65), 0), ((33, 65), 1), ((33, 65), -1), ((3, 1, 17), 1),
                                      ((4, 5, 6), 1), ((97,), 0), ((33, 65), None), ((), None), ((), 0)]):
        h = host(shape, dtype, rng, -3, 3)  # NOTE: few distinct values: many ties, first one wins
        out = G.arg_reduce(op, dev(h, dtype), dim, bool(i % 2))
        assert out.dtype is D.int64
        np.testing.assert_array_equal(back(out), C.arg_reduce(op, h, dim, bool(i % 2)))


def test_arg_reduce_nan_views_split(rng):
    from tritongrad.kernels import reduction as R
    h = host((40, 70), D.float32, rng, -2, 2)
    h[5, 7] = h[5, 9] = np.nan
    h[:, 11] = 5.0
    a = dev(h, D.float32)
    for op in ("argmax", "argmin"):
        for dim in (0, 1, None):
            np.testing.assert_array_equal(back(G.arg_reduce(op, a, dim, False)), C.arg_reduce(op, h, dim, False))
            np.testing.assert_array_equal(back(R.arg_reduce(op, a, dim, True, _split=3)),
                                          C.arg_reduce(op, h, dim, True))
        v, hv = G.permute(G.index(a, (slice(2, 39, 2), slice(1, 69))), (1, 0)), h[2:39:2, 1:69].T
        for dim in (0, 1):
            np.testing.assert_array_equal(back(G.arg_reduce(op, v, dim, False)), C.arg_reduce(op, hv, dim, False))
    with pytest.raises(ValueError):
        G.arg_reduce("argmax", G.empty((0, 3), D.float32), 0, False)
