"""kernels/layernorm.py against the NumPy reference (backends/cpu_nn.py) and PyTorch, and the
reference's backward against float64 finite differences. Runs under Triton's interpreter:
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_layernorm.py
"""
import numpy as np
import pytest
from nn_kernel_helpers import FLOATS, back, close, dev, finite_diff, host, ref_dtype

import tritongrad.cuda
from tritongrad import _dtype as D
from tritongrad.backends import cpu_nn as R

CUDA = tritongrad.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
# shape, normalized_shape, weight, bias
CASES = [((33, 65), (65,), True, True), ((3, 1, 17), (1, 17), True, True), ((5, 97), (97,), False, False),
         ((2, 3, 4), (3, 4), False, True), ((1, 7), (7,), True, False), ((6,), (6,), True, True),
         ((4, 1), (1,), True, True)]


def _inputs(rng, shape, ns, has_w, has_b, dtype):
    x = host(rng, shape, dtype, 2.0, 0.5)
    w = host(rng, ns, dtype) if has_w else None
    b = host(rng, ns, dtype) if has_b else None
    dy = host(rng, shape, dtype)
    return x, w, b, dy


def _run(x, w, b, dy, ns, dtype, eps=1e-5):
    from tritongrad.kernels import layernorm as K
    d = lambda a: None if a is None else dev(a, dtype)  # noqa: E731
    y, mean, rstd = K.layer_norm_fwd(d(x), ns, d(w), d(b), eps)
    dx, dw, db = K.layer_norm_bwd(d(dy), d(x), mean, rstd, d(w), d(b))
    return y, mean, rstd, dx, dw, db


@needs_cuda
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape,ns,has_w,has_b", CASES, ids=str)
def test_kernel_matches_reference(rng, shape, ns, has_w, has_b, dtype):
    x, w, b, dy = _inputs(rng, shape, ns, has_w, has_b, dtype)
    r = lambda a: None if a is None else ref_dtype(a, dtype)  # noqa: E731
    ref = R.layer_norm_fwd(r(x), ns, r(w), r(b)) + R.layer_norm_bwd(r(dy), r(x), *R.layer_norm_fwd(r(x), ns)[1:],
                                                                     r(w), r(b))
    got = _run(x, w, b, dy, ns, dtype)
    stat = D.float64 if dtype is D.float64 else D.float32
    for g, e, dt in zip(got, ref, [dtype, stat, stat, dtype, dtype, dtype]):
        if e is None:
            assert g is None
        else:
            assert g.dtype is dt
            close(g, e, dt, scale=np.sqrt(shape[0]))  # NOTE: dw, db sum over rows


@needs_cuda
def test_long_rows_loop_variant(rng, monkeypatch):
    """Rows longer than MAX_SINGLE take the chunked loops (forward three passes, backward two)."""
    from tritongrad.kernels import layernorm as K
    monkeypatch.setattr(K, "MAX_SINGLE", 16)
    x, w, b, dy = _inputs(rng, (5, 97), (97,), True, True, D.float32)
    got = _run(x, w, b, dy, (97,), D.float32)
    ref = R.layer_norm_fwd(x, (97,), w, b) + R.layer_norm_bwd(dy, x, *R.layer_norm_fwd(x, (97,))[1:], w, b)
    for g, e in zip(got, ref):
        close(g, e, D.float32)


@needs_cuda
def test_strided_input_and_many_programs(rng):
    """A transposed (non-contiguous) input, and more rows than one backward program takes."""
    from tritongrad.kernels import layernorm as K
    base = host(rng, (40, 300), D.float32)
    w, b, dy = host(rng, (40,), D.float32), host(rng, (40,), D.float32), host(rng, (300, 40), D.float32)
    xt = dev(base).permute((1, 0))
    y, mean, rstd = K.layer_norm_fwd(xt, (40,), dev(w), dev(b))
    dx, dw, db = K.layer_norm_bwd(dev(dy), xt, mean, rstd, dev(w), dev(b))
    ry, rm, rr = R.layer_norm_fwd(base.T, (40,), w, b)
    for g, e in zip((y, mean, rstd) + (dx, dw, db), (ry, rm, rr) + R.layer_norm_bwd(dy, base.T, rm, rr, w, b)):
        close(g, e, D.float32, scale=10)


@pytest.mark.parametrize("shape,ns,has_w,has_b", CASES[:4], ids=str)
def test_reference_backward_finite_differences(rng, shape, ns, has_w, has_b):
    x, w, b, dy = _inputs(rng, shape[-2:] if len(shape) > 2 else shape, ns, has_w, has_b, D.float64)
    if len(shape) > 2:
        x, dy = x.reshape((1,) + x.shape), dy.reshape((1,) + dy.shape)
    args = [a for a in (x, w, b) if a is not None]

    def f(*a):
        it = iter(a)
        xx = next(it)
        return R.layer_norm_fwd(xx, ns, next(it) if has_w else None, next(it) if has_b else None, 1e-5)[0]

    num = finite_diff(f, args, dy)
    _, mean, rstd = R.layer_norm_fwd(x, ns, w, b)
    got = [g for g in R.layer_norm_bwd(dy, x, mean, rstd, w, b) if g is not None]
    for g, e in zip(got, num):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)


# NOTE: bfloat16 on the device only: NumPy has no bfloat16 (the CPU reference takes float32)
@pytest.mark.parametrize("device,dtype", [("cpu", D.float32), ("cpu", D.float64)] + [
    pytest.param("cuda", dt, marks=needs_cuda) for dt in (D.float32, D.float64, D.bfloat16)], ids=str)
def test_against_torch(torch, rng, device, dtype):
    shape, ns = (4, 3, 33), (3, 33)
    x, w, b, dy = _inputs(rng, shape, ns, True, True, dtype)
    tdt = getattr(torch, dtype.name)
    tx, tw, tb = (torch.tensor(a.astype(np.float64), dtype=tdt, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.layer_norm(tx, ns, tw, tb, 1e-5)
    ty.backward(torch.tensor(dy.astype(np.float64), dtype=tdt))
    if device == "cuda":
        got = _run(x, w, b, dy, ns, dtype)
        got = [back(got[0])] + [back(a) for a in got[3:]]
    else:
        y, mean, rstd = R.layer_norm_fwd(x, ns, w, b)
        got = [y, *R.layer_norm_bwd(dy, x, mean, rstd, w, b)]
    for g, t in zip(got, (ty, tx.grad, tw.grad, tb.grad)):
        close(np.asarray(g, np.float64), t.detach().double().numpy(), dtype, scale=4)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_shape_errors_match_torch(torch, device):
    if device == "cpu":
        fwd = R.layer_norm_fwd
    else:
        from tritongrad.kernels import layernorm as K  # NOTE: needs the (emulated) device

        fwd = K.layer_norm_fwd
    arr = (lambda s: np.ones(s, np.float32)) if device == "cpu" else (lambda s: dev(np.ones(s, np.float32)))
    for xs, ns, ws in [((2, 3), (4,), None), ((2, 3), (3,), (4,)), ((2, 3), (), None)]:
        with pytest.raises(RuntimeError) as want:
            torch.nn.functional.layer_norm(torch.ones(xs), ns, torch.ones(ws) if ws else None)
        with pytest.raises(RuntimeError) as got:
            fwd(arr(xs), ns, arr(ws) if ws else None)
        assert str(got.value) == str(want.value)


@needs_cuda
def test_empty_input():
    from tritongrad.kernels import layernorm as K
    x, w = dev(np.ones((0, 5), np.float32)), dev(np.ones(5, np.float32))
    y, mean, rstd = K.layer_norm_fwd(x, (5,), w, w)
    assert y.shape == (0, 5) and mean.shape == (0,)
    dx, dw, db = K.layer_norm_bwd(x, x, mean, rstd, w, w)
    assert dx.shape == (0, 5) and np.all(back(dw) == 0) and np.all(back(db) == 0)
