"""The CPU (NumPy) primitives of the math ops that are not elementwise rows of the primitive list:
vector_norm, var, cumsum, sort, lerp, nan_to_num.
primitives.py names them in its rows (numpy=), as it names kernels/mathops.py's launch wrappers
(triton=), the CUDA side with the same semantics.
"""
import math
import warnings

import numpy as np


def _acc(a):
    """float16 computes in float32 (as PyTorch and the kernels accumulate)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def vector_norm(a, ord, dims, keepdim):
    axis = dims if dims else None
    x = np.abs(_acc(a))
    if ord == 1:
        out = np.add.reduce(x, axis, keepdims=keepdim)
    elif ord == 2:
        out = np.sqrt(np.add.reduce(x * x, axis, keepdims=keepdim))
    else:
        out = np.maximum.reduce(x, axis, keepdims=keepdim)
    return np.asarray(out).astype(a.dtype, copy=False)


def var(a, dims, correction, keepdim, sqrt):
    axis = dims if dims else None
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NOTE: N <= correction gives inf / nan, as PyTorch
        x = _acc(a)
        n = x.size if axis is None else math.prod(x.shape[d] for d in dims)
        mean = np.add.reduce(x, axis, keepdims=True) / n if n else np.full([1] * x.ndim, np.nan, x.dtype)
        d = x - mean
        out = np.add.reduce(d * d, axis, keepdims=keepdim) / x.dtype.type(max(n - correction, 0))
        if sqrt:
            out = np.sqrt(out)
    return np.asarray(out).astype(a.dtype, copy=False)


def cumsum(a, dim, reverse=False):
    if not a.ndim:
        return a.astype(a.dtype if a.dtype.kind == "f" else np.int64)
    dtype = np.float32 if a.dtype == np.float16 else a.dtype if a.dtype.kind == "f" else np.int64
    if reverse:
        out = np.flip(np.cumsum(np.flip(a, dim), dim, dtype=dtype), dim)
    else:
        out = np.cumsum(a, dim, dtype=dtype)
    return np.ascontiguousarray(out, a.dtype if a.dtype.kind == "f" else np.int64)


def _sort_key(a):
    """An int64 array that orders as `a` does, NaN last (the CUDA kernel's key, kernels/mathops.py)."""
    if a.dtype.kind != "f":
        return a.astype(np.int64)
    x = a.astype(np.float64) + 0.0  # NOTE: -0.0 becomes +0.0: they compare equal
    x[np.isnan(x)] = np.nan  # NOTE: one NaN bit pattern (positive): the largest key
    bits = x.view(np.int64)
    return np.where(bits < 0, bits ^ np.int64(0x7FFFFFFFFFFFFFFF), bits)


def sort(a, dim, descending=False, k=None):
    if not a.ndim:
        return a.copy(), np.zeros((), np.int64)
    key = _sort_key(a)
    order = np.argsort(~key if descending else key, axis=dim, kind="stable")
    if k is not None:
        order = np.ascontiguousarray(order[(slice(None),) * dim + (slice(0, k),)])
    return np.take_along_axis(a, order, dim), order



def svd(a):
    """(U, S, Vh) of the reduced SVD of a (..., m, n), LAPACK's (as PyTorch's CPU); empty: empty factors."""
    m, n = a.shape[-2:]
    k = min(m, n)
    if a.size == 0:
        lead = a.shape[:-2]
        u = np.zeros(lead + (m, k), a.dtype)
        u[..., range(k), range(k)] = 1
        vh = np.zeros(lead + (k, n), a.dtype)
        vh[..., range(k), range(k)] = 1
        return u, np.zeros(lead + (k,), a.dtype), vh
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s.astype(a.dtype, copy=False), vh


def lerp(a, b, w):
    d = b - a
    with np.errstate(invalid="ignore"):
        out = np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w))
    return out.astype(a.dtype, copy=False)


def nan_to_num(a, nan, posinf, neginf):
    if a.dtype.kind != "f":
        return a.copy()
    return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)
