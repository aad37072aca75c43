"""Helpers of the nn kernel tests (layer norm, attention, index): host data in each dtype, device
arrays (bfloat16 as bf16-exact float32 on the host), tolerances, and float64 finite differences of
a NumPy function (for the references' backward)."""
import numpy as np

from tritongrad import _dtype as D

FLOATS = [D.float32, D.float64, D.float16, D.bfloat16]
TOL = {D.float32: dict(rtol=1e-4, atol=1e-5), D.float64: dict(rtol=1e-10, atol=1e-11),
       D.float16: dict(rtol=1e-2, atol=1e-2), D.bfloat16: dict(rtol=5e-2, atol=5e-2)}


def bf16_round(x):
    """float32 values rounded to the nearest bfloat16 (ties to even), still as float32."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    s = np.uint64(16)  # NOTE: NumPy 1.x turns a 0-d uint64 shifted by a Python int into int64/float64
    b = (b + np.uint64(0x7FFF) + ((b >> s) & np.uint64(1))) >> s
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


def host(rng, shape, dtype, scale=1.0, shift=0.0):
    """Fresh normal random data with `dtype`'s values, as the dtype (bfloat16: as float32)."""
    x = rng.standard_normal(shape) * scale + shift
    return bf16_round(x) if dtype is D.bfloat16 else x.astype(dtype.np)


def ref_dtype(h, dtype):
    """The host array the NumPy reference takes for `dtype` (bfloat16 has no NumPy type: float32)."""
    return h.astype(np.float32) if dtype is D.bfloat16 else h


def dev(h, dtype=None):
    from tritongrad.backends.cuda import CUDABackend as G
    from tritongrad.cuda import memory
    if dtype is D.bfloat16:
        bits = np.ascontiguousarray(bf16_round(h)).view(np.uint32) >> 16
        return memory.from_host(bits.astype(np.uint16), D.bfloat16)
    h = np.asarray(h) if dtype is None else np.asarray(h, dtype.np)
    return G.from_numpy(h if h.flags.c_contiguous else h.copy())  # NOTE: ascontiguousarray makes 0-d 1-d


def back(a):
    from tritongrad.backends.cuda import CUDABackend as G
    out = G.to_numpy(a)
    return (out.astype(np.uint32) << np.uint32(16)).view(np.float32) if a.dtype is D.bfloat16 else out


def close(got, ref, dtype, scale=1.0):
    """Device array `got` against host `ref` within `dtype`'s tolerance (atol scaled by `scale`)."""
    g = back(got) if not isinstance(got, np.ndarray) else got
    assert g.shape == np.shape(ref), (g.shape, np.shape(ref))
    tol = TOL[dtype]
    np.testing.assert_allclose(g.astype(np.float64), np.asarray(ref, np.float64), rtol=tol["rtol"],
                               atol=tol["atol"] * scale)


def finite_diff(f, arrays, w, eps=1e-6):
    """d(sum(f(*arrays) * w)) / d(each array), float64 central differences."""
    arrays = [a.astype(np.float64).copy() for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            plus = (f(*arrays) * w).sum()
            a[idx] = old - eps
            minus = (f(*arrays) * w).sum()
            a[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads
