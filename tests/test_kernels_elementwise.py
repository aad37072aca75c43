"""The CUDA backend's elementwise primitives against CPUBackend (NumPy), on every dtype, awkward shapes,
broadcasts and strided views. Runs under Triton's interpreter without a GPU:
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_elementwise.py
"""
import zlib

import numpy as np
import pytest
from helpers import CUDA_BACKEND as G

import tritongrad.cuda
from tritongrad import _dtype as D
from tritongrad.backends.cpu import CPUBackend as C

pytestmark = [pytest.mark.skipif(not tritongrad.cuda.is_available(), reason="no CUDA device (or emulation)"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]  # NOTE: masked lanes in the interpreter

FLOATS = [D.float32, D.float64, D.float16, D.bfloat16]
INTS = [D.int64, D.int32, D.int16, D.int8, D.uint8]
TOL = {D.float32: dict(rtol=1e-5, atol=1e-6), D.float64: dict(rtol=1e-12, atol=1e-12),
       D.float16: dict(rtol=2e-3, atol=1e-3), D.bfloat16: dict(rtol=1.6e-2, atol=1e-2)}
SHAPES = [(), (1,), (97,), (33, 65), (3, 1, 17)]


# --- helpers: host data in the dtype's values, device arrays, bfloat16 as float32 on the host ---------
def bf16_round(x):
    """float32 values rounded to the nearest bfloat16 (ties to even), still as float32."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    s = np.uint64(16)  # NOTE: NumPy 1.x turns a 0-d uint64 shifted by a Python int into int64/float64
    b = (b + np.uint64(0x7FFF) + ((b >> s) & np.uint64(1))) >> s
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


def host(shape, dtype, rng, lo=-3.0, hi=3.0):
    """Fresh random data of `dtype` (never all zeros); bfloat16 as bf16-exact float32."""
    if dtype is D.bool_:
        return rng.random(shape) < 0.5
    if dtype in INTS:
        lo = 0 if dtype is D.uint8 else lo
        return rng.integers(int(lo), int(hi) + 1, shape).astype(dtype.np)
    x = rng.uniform(lo, hi, shape)
    return bf16_round(x) if dtype is D.bfloat16 else x.astype(dtype.np)


def dev(h, dtype):
    if dtype is D.bfloat16:
        from tritongrad.cuda import memory
        bits = np.array(bf16_round(h), order="C").view(np.uint32) >> 16
        return memory.from_host(bits.astype(np.uint16), D.bfloat16)
    return G.from_numpy(np.asarray(h, dtype.np))


def back(a):
    out = G.to_numpy(a)
    if a.dtype is D.bfloat16:
        return (out.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return out


def check(out, ref, dtype=None):
    got = back(out)
    assert got.shape == np.shape(ref), (got.shape, np.shape(ref))
    ref = np.asarray(ref)
    if dtype is D.bfloat16 and ref.dtype == np.float32:
        ref = bf16_round(ref)
    if dtype in TOL and got.dtype != np.bool_:
        np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), equal_nan=True, **TOL[dtype])
    else:
        np.testing.assert_array_equal(got, ref)


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))  # fresh per test, reproducible


# --- unary --------------------------------------------------------------------------------------------
UNARY = ["neg", "exp", "log", "sqrt", "abs", "sign", "square", "sin", "cos", "reciprocal", "tanh", "relu", "sigmoid",
         "logical_not"]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary_float(op, dtype, rng):
    lo, hi = (0.1, 4.0) if op in ("log", "sqrt") else (-4.0, 4.0)
    h = host((33, 65), dtype, rng, lo, hi)
    h[0, :3] = 0 if op not in ("log", "reciprocal") else 1  # exact zeros: sign, relu, logical_not
    check(G.unary(op, dev(h, dtype)), C.unary(op, h), dtype)


@pytest.mark.parametrize("dtype", INTS + [D.bool_], ids=str)
@pytest.mark.parametrize("op", ["neg", "abs", "sign", "square", "relu", "logical_not"])
def test_unary_int(op, dtype, rng):
    if dtype is D.bool_ and op != "logical_not":
        pytest.skip("arithmetic on bool is promoted by ops")
    h = host((97,), dtype, rng, -9, 9)
    check(G.unary(op, dev(h, dtype)), C.unary(op, h), dtype)


def test_unary_float_only_refuses_int():
    with pytest.raises(TypeError):
        G.unary("exp", G.from_numpy(np.arange(3)))


@pytest.mark.parametrize("shape", SHAPES + [(0,), (2, 0, 3)], ids=str)
def test_unary_shapes(shape, rng):
    h = host(shape, D.float32, rng)
    a = dev(h, D.float32) if h.size else G.empty(shape, D.float32)
    check(G.unary("exp", a), C.unary("exp", h), D.float32)


def test_unary_numerics(rng):
    x = np.array([-1e4, -50, -20, -1e-3, -1e-8, 0, 1e-8, 1e-3, 0.24, 0.26, 20, 50, 1e4, np.nan, np.inf, -np.inf])
    for dtype in (D.float32, D.float64):
        for op in ("sigmoid", "tanh", "relu", "sign", "abs"):
            check(G.unary(op, dev(x, dtype)), C.unary(op, x.astype(dtype.np)), dtype)


def test_unary_views(rng):
    """Transposed, sliced (offset) and broadcast (stride 0) inputs."""
    base = host((35, 67), D.float32, rng)
    a = dev(base, D.float32)
    for idx in [(slice(1, 34), slice(2, 67)), (slice(None), 5), (slice(3, 30, 2), slice(1, 60, 3))]:
        check(G.unary("neg", G.index(a, idx)), -base[idx], D.float32)
    check(G.unary("square", G.permute(a, (1, 0))), np.square(base.T), D.float32)
    row = G.index(a, (slice(0, 1), slice(None)))
    check(G.unary("abs", G.expand(row, (5, 67))), np.abs(np.broadcast_to(base[:1], (5, 67))), D.float32)


def test_high_rank_views(rng):
    """More than 4 dims that do not collapse: split into several launches."""
    h = host((2, 3, 2, 3, 2, 3), D.float32, rng)
    perm = (5, 0, 4, 1, 3, 2)
    check(G.unary("neg", G.permute(dev(h, D.float32), perm)), -h.transpose(perm), D.float32)
    b = host((1, 3, 1, 3, 1, 3), D.float32, rng)
    check(G.binary("add", dev(h, D.float32), dev(b, D.float32)), h + b, D.float32)


# --- binary -------------------------------------------------------------------------------------------
ARITH = ["add", "sub", "mul", "maximum", "minimum"]
CMP = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"]
PAIRS = [((33, 65), (65,)), ((3, 1, 17), (1, 5, 1)), ((97,), ()), ((), ()), ((1,), (97,)), ((0, 3), (3,))]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("op", ARITH + ["div", "pow"] + CMP)
def test_binary_float(op, dtype, rng):
    for i, (sa, sb) in enumerate(PAIRS[:3]):
        lo = 0.1 if op == "pow" else -3.0
        x, y = host(sa, dtype, rng, lo), host(sb, dtype, rng, -2.0, 2.0)
        if i == 0:
            y[:20] = x[3, :20]  # ties for the comparisons
        check(G.binary(op, dev(x, dtype), dev(y, dtype)), C.binary(op, x, y), dtype)


@pytest.mark.parametrize("dtype", INTS + [D.bool_], ids=str)
@pytest.mark.parametrize("op", ARITH + CMP + ["pow"])
def test_binary_int(op, dtype, rng):
    if dtype is D.bool_ and op in ("sub", "pow"):
        pytest.skip("NumPy refuses these on bool")
    for sa, sb in PAIRS:
        x = host(sa, dtype, rng, -9, 9)
        y = host(sb, dtype, rng, 0, 3) if op == "pow" else host(sb, dtype, rng, -9, 9)
        check(G.binary(op, dev(x, dtype), dev(y, dtype)), C.binary(op, x, y), dtype)


@pytest.mark.parametrize("dtype", [D.float32, D.float64, D.float16, D.bfloat16, D.int32, D.uint8], ids=str)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "lt", "eq"])
def test_binary_scalar(op, dtype, rng):
    if op == "div" and dtype not in FLOATS:
        pytest.skip("integer division is promoted by ops")
    x = host((33, 65), dtype, rng, 0.5 if op == "pow" else -3, 3)
    scalars = [2, 3, -1, 0.5, 1.7] if dtype in FLOATS else [2, 3]
    for s in scalars:
        s = s if dtype in FLOATS else int(s)
        sv = s  # NOTE: the CPU backend rounds Python scalars to the array's dtype (NumPy's weak scalars)
        if dtype in FLOATS:
            sv = bf16_round(np.float32(s)) if dtype is D.bfloat16 else np.asarray(s, x.dtype)
        check(G.binary(op, dev(x, dtype), s), C.binary(op, x, sv), dtype)
        if op != "pow" or dtype in FLOATS:
            check(G.rbinary(op, s, dev(x, dtype)), C.rbinary(op, sv, x), dtype)


def test_binary_alpha_and_negative_base(rng):
    x, y = host((33, 65), D.float64, rng), host((65,), D.float64, rng)
    check(G.binary("add", dev(x, D.float64), dev(y, D.float64), alpha=-0.3), C.binary("add", x, y, alpha=-0.3),
          D.float64)
    xi, yi = host((97,), D.int64, rng), host((97,), D.int64, rng)
    check(G.binary("sub", dev(xi, D.int64), dev(yi, D.int64), alpha=3), xi - 3 * yi, D.int64)
    for n in (2, 3, -1, -2, 0, 2.0, 7):  # negative base, integer exponent (scalar and tensor)
        check(G.binary("pow", dev(x, D.float64), n), np.power(x, n), D.float64)
        check(G.binary("pow", dev(x, D.float64), dev(np.full(65, float(n)), D.float64)), np.power(x, float(n)),
              D.float64)
    check(G.binary("pow", dev(x, D.float64), 0.5), np.power(x, 0.5), D.float64)  # NaN where x < 0
    ax = np.abs(x) + 0.5  # around 1: both limits of inf exponents
    for n in (np.inf, -np.inf, np.nan):
        check(G.binary("pow", dev(ax, D.float64), n), np.power(ax, n), D.float64)


def test_compare_with_wider_scalar(rng):
    x = host((97,), D.int32, rng, -3, 3)
    for op in ("lt", "eq", "ge"):
        check(G.binary(op, dev(x, D.int32), 1.5), C.binary(op, x, 1.5))
    u = host((97,), D.uint8, rng, 0, 9)
    check(G.binary("gt", dev(u, D.uint8), -1), u > -1)


def test_binary_views_and_inplace(rng):
    base = host((40, 70), D.float32, rng)
    b = dev(base, D.float32)
    xa, xv = base[3:36, 2:67], G.index(b, (slice(3, 36), slice(2, 67)))
    yt = host((65, 33), D.float32, rng)
    check(G.binary("mul", xv, G.permute(dev(yt, D.float32), (1, 0))), xa * yt.T, D.float32)
    # in place on a strided, offset view: out = out - 0.1 * g (the SGD step), broadcast g
    g = host((65,), D.float32, rng)
    G.binary_("sub", xv, dev(g, D.float32), alpha=0.1)
    ref = base.copy()
    C.binary_("sub", ref[3:36, 2:67], g, alpha=0.1)
    check(b, ref, D.float32)
    G.binary_("mul", G.permute(b, (1, 0)), 2.0)
    check(b, ref * 2, D.float32)
    with pytest.raises(ValueError):
        G.binary_("add", dev(g, D.float32), xv)


# --- where, clamp, fused backward -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + [D.int64, D.uint8, D.bool_], ids=str)
def test_where(dtype, rng):
    c = rng.random((3, 1, 17)) < 0.5
    a, b = host((1, 5, 1), dtype, rng), host((17,), dtype, rng)
    check(G.where(dev(c, D.bool_), dev(a, dtype), dev(b, dtype)), C.where(c, a, b), dtype)
    ci = host((3, 5, 17), D.int32, rng, -1, 1)
    check(G.where(dev(ci, D.int32), dev(a, dtype), dev(b, dtype)), np.where(ci != 0, a, b), dtype)


@pytest.mark.parametrize("dtype", FLOATS + [D.int32, D.int8], ids=str)
def test_clamp(dtype, rng):
    h = host((33, 65), dtype, rng, -5, 5)
    if dtype in FLOATS:
        h[0, 0] = np.nan
    for lo, hi in [(-1, 2), (None, 0), (1, None), (None, None)]:
        check(G.clamp(dev(h, dtype), lo, hi), C.clamp(h, lo, hi), dtype)
    lo = host((65,), dtype, rng, -5, 0)
    check(G.clamp(dev(h, dtype), dev(lo, dtype), 3), C.clamp(h, lo, 3), dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_backward_ops(dtype, rng):
    g, x = host((33, 65), dtype, rng), host((33, 65), dtype, rng)
    x[0, :4] = [0, 1, -1, 0.5]  # on the thresholds
    gb = host((65,), dtype, rng)
    check(G.threshold_backward(dev(g, dtype), dev(x, dtype), 0), C.threshold_backward(g, x, 0), dtype)
    check(G.threshold_backward(dev(gb, dtype), dev(x, dtype), 0.5), C.threshold_backward(gb, x, 0.5), dtype)
    for lo, hi in [(-1, 1), (None, 0.5), (0, None), (None, None)]:
        check(G.clamp_backward(dev(g, dtype), dev(x, dtype), lo, hi), C.clamp_backward(g, x, lo, hi), dtype)
    y = C.unary("sigmoid", x.astype(np.float32)).astype(x.dtype)
    y = bf16_round(y) if dtype is D.bfloat16 else y
    check(G.sigmoid_backward(dev(g, dtype), dev(y, dtype)), C.sigmoid_backward(g, y), dtype)
    check(G.tanh_backward(dev(g, dtype), dev(y, dtype)), C.tanh_backward(g, y), dtype)


@pytest.mark.parametrize("n", [2, 3, 1, 0, -1, -2, 0.5, 2.5, -1.5])
def test_pow_backward(n, rng):
    for dtype in (D.float64, D.float32):
        g, x = host((97,), dtype, rng), host((97,), dtype, rng)
        if not float(n).is_integer():
            x = np.abs(x) + 0.1
        check(G.pow_backward(dev(g, dtype), dev(x, dtype), n), C.pow_backward(g, x, n), dtype)


# --- fill, copy, casts, creation ------------------------------------------------------------------------
ALL = FLOATS + INTS + [D.bool_]


@pytest.mark.parametrize("src", ALL, ids=str)
def test_copy_casts(src, rng):
    h = host((3, 1, 17), src, rng, -100, 100)
    if src in FLOATS:
        h[0, 0, :3] = [0.0, 1.5, -2.5]
    for dst in ALL:
        out = G.empty((3, 5, 17), dst)
        G.copy_(out, dev(h, src))
        ref = np.empty((3, 5, 17), np.float32 if dst is D.bfloat16 else dst.np)
        if src in FLOATS and dst in INTS:  # NOTE: out-of-range float -> int is UB in C; keep in range
            hh = np.clip(h, np.iinfo(dst.np).min, np.iinfo(dst.np).max)
            G.copy_(out, dev(hh, src))
            C.copy_(ref, hh)
        else:
            C.copy_(ref, h)
        check(out, ref, dst if dst in FLOATS else None)


def test_copy_into_views_and_astype(rng):
    base = host((40, 70), D.float32, rng)
    b = dev(base, D.float32)
    src = host((65, 33), D.float64, rng)
    G.copy_(G.index(b, (slice(3, 36), slice(2, 67))), G.permute(dev(src, D.float64), (1, 0)))
    base[3:36, 2:67] = src.T
    check(b, base, D.float32)
    t = G.permute(b, (1, 0))
    c = G.contiguous(t)
    assert G.is_contiguous(c) and not G.is_contiguous(t) and G.contiguous(c) is c
    check(c, base.T, D.float32)
    check(G.astype(t, D.bfloat16), base.T, D.bfloat16)
    check(G.astype(G.astype(t, D.bfloat16), D.float32), bf16_round(base.T), D.float32)
    G.copy_(G.index(b, (slice(None), 3)), 7.5)
    base[:, 3] = 7.5
    check(b, base, D.float32)


@pytest.mark.parametrize("dtype", ALL, ids=str)
def test_fill_full_empty(dtype, rng):
    for shape in [(), (97,), (3, 1, 17), (0, 4)]:
        v = 1 if dtype is D.bool_ else 3.3 if dtype in FLOATS else 3
        check(G.full(shape, v, dtype), np.full(shape, v, np.float32 if dtype is D.bfloat16 else dtype.np), dtype)
        assert G.empty(shape, dtype).shape == shape
    if dtype is D.bfloat16:  # NOTE: rounded to nearest even, not truncated (exact, not within tolerance)
        assert (back(G.full((5,), 3.3, dtype)) == bf16_round(np.float32(3.3))).all()
    a = dev(host((6, 7), dtype, rng), dtype)
    G.fill_(G.index(a, (slice(1, 5), slice(None, None, 2))), 0)
    assert (back(a)[1:5, ::2] == 0).all()


@pytest.mark.parametrize("args", [(0, 10, 1), (3, 50, 7), (-5.0, 5.0, 0.7), (10, 0, -3), (0, 0, 1), (1.0, 2.0, 0.1)])
@pytest.mark.parametrize("dtype", [D.float32, D.float64, D.int64, D.int32, D.float16, D.bfloat16], ids=str)
def test_arange(args, dtype):
    if dtype not in FLOATS and any(isinstance(v, float) for v in args):
        pytest.skip("float steps for integer dtypes")
    ref = C.arange(*args, D.float64).astype(np.float32 if dtype is D.bfloat16 else dtype.np)  # NOTE: NumPy
    # steps in float16; PyTorch and we compute start + i * step in float64, then round
    check(G.arange(*args, dtype), ref, dtype)


def test_from_to_numpy_roundtrip(rng):
    for dtype in FLOATS[:3] + INTS + [D.bool_]:
        h = host((3, 1, 17), dtype, rng)
        a = G.from_numpy(h)
        assert a.dtype is dtype and a.shape == h.shape
        np.testing.assert_array_equal(G.to_numpy(a), h)
    h = host((5, 6), D.float32, rng)
    np.testing.assert_array_equal(G.to_numpy(G.permute(G.from_numpy(h), (1, 0))), h.T)


def test_int64_offsets_decision():
    """Index math switches to int64 when an offset could pass 2**31 (no big allocation needed)."""
    from tritongrad.kernels import _utils as U
    a = U.DeviceArray(None, 0, (3, 5), (2**30, 1), D.float32)
    ((_, _, _, meta),) = U.plan((3, 5), [a])
    assert meta["I64"] and meta["NDIM"] == 2
    ((_, _, _, meta),) = U.plan((3, 5), [U.DeviceArray(None, 0, (3, 5), (5, 1), D.float32)])
    assert not meta["I64"] and meta["NDIM"] == 1
