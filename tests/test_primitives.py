"""The primitive list (tritongrad/backends/primitives.py): both backends implement every row, with the
same semantics (the CPU's NumPy reference against the Triton kernels, emulated without a GPU)."""
import inspect

import numpy as np
import pytest
from helpers import BACKWARD_PARAMS

import tritongrad as tg
from tritongrad import _dtype as D
from tritongrad.backends import primitives as P
from tritongrad.backends.cpu import CPUBackend as C

CUDA = tg.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NOTE: log of negatives, masked lanes
TOL = {D.float32: dict(rtol=2e-5, atol=1e-6), D.float64: dict(rtol=1e-12, atol=1e-12)}


def _cuda():
    return tg.backends.get("cuda")


def _implements(be, p):
    if p.kind in ("unary", "binary"):
        if be is C:  # NOTE: no kernels import on the CPU: it needs a CUDA device (real or emulated)
            return p.name in C.unary.__globals__["_" + p.kind.upper()]
        from tritongrad.kernels import elementwise as E

        return p.name in {"unary": E.UNARY_OPS, "binary": E.BINARY_OPS}[p.kind]
    if p.kind == "reduce":
        if be is C:
            return p.name in C.reduce.__globals__["_REDUCE"]
        from tritongrad.kernels import reduction as R

        return p.name in R.REDUCE_OPS
    return callable(getattr(be, p.name, None))


def test_rows_are_unique_and_well_formed():
    assert len(P.BY_NAME) == len(P.PRIMITIVES)
    for p in P.PRIMITIVES:
        assert p.kind in ("unary", "binary", "reduce", "backward", "method"), p
        assert p.dtypes in ("same", "float", "bool", "int"), p
        assert p.numpy is not None or p.kind in ("reduce", "method"), p
        assert p.triton is None or (p.kind == "method" and p.triton.count(".") == 1), p
        assert p.backward_of is None or p.kind in ("backward", "method"), p


def test_cpu_implements_every_row():
    missing = [p.name for p in P.PRIMITIVES if not _implements(C, p)]
    assert not missing


@needs_cuda
def test_cuda_implements_every_row_with_the_cpu_signatures():
    G = _cuda()
    missing = [p.name for p in P.PRIMITIVES if not _implements(G, p)]
    assert not missing
    # NOTE: the same parameter names, so that keyword calls work on both devices
    for name in [p.name for p in P.PRIMITIVES if p.kind == "method"] + ["unary", "binary", "rbinary", "reduce"]:
        cpu = [(q.name, q.default) for q in inspect.signature(getattr(C, name)).parameters.values()]
        cuda = [(q.name, q.default) for q in inspect.signature(getattr(G, name)).parameters.values()
                if not q.name.startswith("_")]
        assert cpu == cuda, name


def _data(rng, shape, dtype, p):
    lo = 0.2 if p.name in ("log", "sqrt", "reciprocal") else -0.9 if p.name == "log1p" else -2.0
    return rng.uniform(lo, 2.0, shape).astype(dtype.np)


def _run_both(fn, arrays):
    G = _cuda()
    want = fn(C, *arrays)
    got = fn(G, *[G.from_numpy(a) if isinstance(a, np.ndarray) else a for a in arrays])
    return G.to_numpy(got), np.asarray(want)


@needs_cuda
@pytest.mark.parametrize("dtype", [D.float32, D.float64], ids=str)
@pytest.mark.parametrize("p", [p for p in P.PRIMITIVES if p.kind in ("unary", "binary", "backward", "reduce")],
                         ids=lambda p: p.name)
def test_both_backends_compute_every_elementwise_and_reduce_row_alike(p, dtype):
    rng = np.random.default_rng(sum(map(ord, p.name)))
    x, y = _data(rng, (33, 65), dtype, p), _data(rng, (65,), dtype, p)
    if p.dtypes == "int":  # the bitwise ops: integers
        x, y = (x * 100).astype(np.int64), (y * 100).astype(np.int64)
    if p.kind == "unary":
        got, want = _run_both(lambda be, a: be.unary(p.name, a), [x])
    elif p.kind == "binary":
        if p.name == "pow":
            x = np.abs(x) + 0.1
        got, want = _run_both(lambda be, a, b: be.binary(p.name, a, b), [x, y])
    elif p.kind == "reduce":
        got, want = _run_both(lambda be, a: be.reduce(p.name, a, (1,), False), [x])
    else:
        g = rng.standard_normal((33, 65)).astype(dtype.np)
        got, want = _run_both(lambda be, a, b: getattr(be, p.name)(a, b, *BACKWARD_PARAMS[p.name]), [g, x])
    assert got.dtype == want.dtype and got.shape == want.shape
    if p.dtypes == "bool":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_every_fused_backward_row_is_an_op_with_its_own_derivative():
    import tritongrad.nn.functional  # noqa: F401  NOTE: loads every row (loss.py: by nn.functional)
    from tritongrad.ops.table import _TENSOR_OPS

    missing = [p.name for p in P.PRIMITIVES if p.backward_of is not None and p.name not in _TENSOR_OPS]
    assert not missing


@needs_cuda
def test_a_method_row_names_its_launch_wrapper(monkeypatch):
    """A row with `triton="module.function"` is bound by the CUDA backend as it is (a new kernel family's op)."""
    from tritongrad.backends import cuda
    from tritongrad.kernels import elementwise as E

    row = P.Prim("copy_of", "method", 1, numpy=np.copy, triton="elementwise.copy")
    monkeypatch.setattr(cuda, "PRIMITIVES", P.PRIMITIVES + (row,))
    assert cuda.CUDABackend().copy_of is E.copy


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_backward_selects_like_where(dtype):
    """threshold_backward and clamp_backward select g by bits (primitives._keep), not np.where: the same
    values, NaN and inf under the mask included, and -0.0 kept where it passes."""
    rng = np.random.default_rng()
    x = rng.standard_normal((7, 13)).astype(dtype)
    g = rng.standard_normal((7, 13)).astype(dtype)
    g.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    x.flat[:4] = [-1, -1, 1, 1]
    for got, want in ((C.threshold_backward(g, x, 0.0), np.where(x <= 0, 0, g)),
                      (C.clamp_backward(g, x, -0.5, 0.7), np.where((x >= -0.5) & (x <= 0.7), g, 0)),
                      (C.clamp_backward(g[:, ::2], x[:, ::2], None, 0.7), np.where(x[:, ::2] <= 0.7, g[:, ::2], 0))):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want.astype(dtype))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want.astype(dtype)))
    g0, x0 = np.asarray(g.flat[5]), np.asarray(x.flat[5])  # NOTE: 0-d: comparisons give NumPy scalars
    np.testing.assert_array_equal(C.threshold_backward(g0, x0, 0.0), np.where(x0 <= 0, 0, g0).astype(dtype))
