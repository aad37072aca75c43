"""Kernels of the math ops (ops/math.py, stats.py, sort.py) that are not plain unary / binary rows:
vector norms (branches of kernels/reduction.py), var / std, cumsum, lerp, nan_to_num; sort / topk
themselves are kernels/sort.py (their backward is the index ops' scatter, kernels/index.py).

Rows: var and cumsum see the array as rows, like the reductions and softmax: var through
reduction's (M kept rows, R reduced columns) strided view; cumsum through a contiguous
(outer, N, inner) layout, row r = (o, i) starting at o * N * inner + i, elements `inner` apart.
One launch per call (plus a contiguous copy when the input's strides do not allow the view).
"""
import math

import triton
import triton.language as tl

from .._dtype import float64, int64
from . import _utils as U, elementwise as E, pointwise as PW, reduction as RED
from ._launch import fast
from .mathfn import _sqrt

_NORM_OPS = {1: "norm1", 2: "norm2", math.inf: "norminf"}


# ----------------------------------------------------------------------------------------------------
# var / std
# ----------------------------------------------------------------------------------------------------
@triton.jit(do_not_specialize=["M", "R", "div"])
def var_kernel(x_ptr, out_ptr, M, R, sm, sr, div: tl.float64, SQRT: tl.constexpr, ACC: tl.constexpr,
               BLOCK_M: tl.constexpr, BLOCK_R: tl.constexpr):
    """out[m] = sum((x[m, :] - mean) ** 2) / div (its sqrt with SQRT): two passes over each row, so
    no cancellation (the mean first, then the squared deviations)."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < M
    base = x_ptr + rows[:, None] * sm
    s = tl.zeros([BLOCK_M, BLOCK_R], ACC)
    for r0 in range(0, R, BLOCK_R):
        cols = r0 + tl.arange(0, BLOCK_R)
        mask = row_ok[:, None] & (cols < R)[None, :]
        s += tl.load(base + cols[None, :] * sr, mask=mask, other=0).to(ACC)
    mean = tl.sum(s, axis=1) / R
    q = tl.zeros([BLOCK_M, BLOCK_R], ACC)
    for r0 in range(0, R, BLOCK_R):
        cols = r0 + tl.arange(0, BLOCK_R)
        mask = row_ok[:, None] & (cols < R)[None, :]
        d = tl.where(mask, tl.load(base + cols[None, :] * sr, mask=mask, other=0).to(ACC) - mean[:, None], 0.0)
        q += d * d
    res = tl.sum(q, axis=1) / tl.full((), div, ACC)
    if SQRT:
        res = _sqrt(res)
    tl.store(out_ptr + rows, res.to(out_ptr.dtype.element_ty), mask=row_ok)


def var(a, dims, correction, keepdim, sqrt):
    """Variance (std with `sqrt`) over `dims` (a tuple, () for all) with divisor N - correction."""
    dims = RED._normalize_dims(dims, a.ndim)
    out = U.empty(RED._out_shape(a.shape, dims, keepdim), a.dtype)
    M, R = U.numel(out.shape), U.numel([a.shape[d] for d in dims])
    if M == 0:
        return out
    if R == 0:
        return E.fill_(out, math.nan)
    M, R, sm, sr, perm = RED._as_2d(a.shape, a.strides, dims)
    x = a if perm is None else E.contiguous(a.permute(perm))
    br = min(triton.next_power_of_2(R), 4096 if U.INTERPRET else 1024)
    bm = max(1, min(triton.next_power_of_2(M), (16384 if U.INTERPRET else 2048) // br))
    acc = tl.float64 if a.dtype is float64 else tl.float32
    fast(var_kernel)[(U.cdiv(M, bm),)](x, out, M, R, sm, sr, float(max(R - correction, 0)), SQRT=sqrt, ACC=acc,
                                       BLOCK_M=bm, BLOCK_R=br, num_warps=4)
    return out


def vector_norm(a, ord, dims, keepdim):
    """The `ord` (1, 2 or inf) norm over `dims`: one pass of the reduction kernel."""
    return RED.reduce(_NORM_OPS[ord], a, dims, keepdim)


# ----------------------------------------------------------------------------------------------------
# rows of a contiguous (outer, N, inner) array: cumsum
# ----------------------------------------------------------------------------------------------------
@triton.jit
def _rows(BLOCK_M: tl.constexpr, M, N, INNER):
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    return rows < M, (rows // INNER) * N * INNER + rows % INNER


@triton.jit(do_not_specialize=["M", "N"])
def cumsum_kernel(x_ptr, out_ptr, M, N, INNER, REVERSE: tl.constexpr, ACC: tl.constexpr, BLOCK_M: tl.constexpr,
                  BLOCK_N: tl.constexpr):
    """out[r, j] = sum of x[r, :j + 1] (REVERSE: of x[r, j:]), BLOCK_N columns at a time with a carry."""
    row_ok, base = _rows(BLOCK_M, M, N, INNER)
    carry = tl.zeros([BLOCK_M], ACC)
    for c in range(0, N, BLOCK_N):
        if REVERSE:
            cols = (N - c - BLOCK_N) + tl.arange(0, BLOCK_N)  # NOTE: the last chunk first
        else:
            cols = c + tl.arange(0, BLOCK_N)
        mask = row_ok[:, None] & ((cols >= 0) & (cols < N))[None, :]
        offs = base[:, None] + cols[None, :] * INNER
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        y = tl.cumsum(x, axis=1, reverse=REVERSE) + carry[:, None]
        carry += tl.sum(x, axis=1)
        tl.store(out_ptr + offs, y.to(out_ptr.dtype.element_ty), mask=mask)


def _row_layout(a, dim):
    """(contiguous a, M rows, N, inner) for rows along `dim`."""
    x = E.contiguous(a)
    n = a.shape[dim] if a.ndim else 1
    inner = U.numel(a.shape[dim + 1:])
    return x, U.numel(a.shape) // max(n, 1), n, inner


def cumsum(a, dim, reverse=False):
    """Inclusive prefix sums along `dim` (from the end with `reverse`); integers and bool give int64."""
    out = U.empty(a.shape, a.dtype if a.dtype in U.FLOATS else int64)
    if U.numel(a.shape) == 0:
        return out
    x, M, N, inner = _row_layout(a, dim)
    bn = min(triton.next_power_of_2(N), 1024)
    bm = max(1, min(triton.next_power_of_2(M), 4096 // bn))
    acc = tl.float64 if a.dtype is float64 else tl.float32 if a.dtype in U.FLOATS else tl.int64
    fast(cumsum_kernel)[(U.cdiv(M, bm),)](x, out, M, N, inner, REVERSE=reverse, ACC=acc, BLOCK_M=bm, BLOCK_N=bn,
                                          num_warps=4)
    return out


# ----------------------------------------------------------------------------------------------------
# elementwise with parameters: lerp, nan_to_num
# ----------------------------------------------------------------------------------------------------
@triton.jit(do_not_specialize=E._DNS + ["wf"])
def lerp_kernel(a_ptr, b_ptr, w_ptr, out_ptr, wf: tl.float64, n, S1, S2, S3, A0, A1, A2, A3, B0, B1, B2, B3,
                W0, W1, W2, W3, O0, O1, O2, O3, W_SCALAR: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr,
                BLOCK: tl.constexpr):
    """out = a + w * (b - a), as PyTorch computes it: from b's side where |w| >= 0.5 (exact at w = 1)."""
    idx = PW._flat_index(BLOCK, I64)
    mask = idx < n
    a = PW._up(tl.load(a_ptr + PW._strided(idx, S1, S2, S3, A0, A1, A2, A3, NDIM), mask=mask))
    b = PW._up(tl.load(b_ptr + PW._strided(idx, S1, S2, S3, B0, B1, B2, B3, NDIM), mask=mask))
    if W_SCALAR:
        w = tl.full([BLOCK], PW._scalar_like(wf, 0, a_ptr), a.dtype)
    else:
        w = PW._up(tl.load(w_ptr + PW._strided(idx, S1, S2, S3, W0, W1, W2, W3, NDIM), mask=mask))
    d = b - a
    y = tl.where(tl.abs(w) < 0.5, a + w * d, b - d * (1.0 - w))
    tl.store(out_ptr + PW._strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), PW._down(y, out_ptr.dtype.element_ty),
             mask=mask)


def lerp(a, b, w):
    """a + w * (b - a), broadcast; w an array or a Python number."""
    scalar = not isinstance(w, U.DeviceArray)
    shape = U.broadcast_shapes(a.shape, b.shape, *(() if scalar else (w.shape,)))
    out = U.empty(shape, a.dtype)
    E._launch(lerp_kernel, shape, [a, b, a if scalar else w, out], (float(w) if scalar else 0.0,),
              zero=2 if scalar else None, W_SCALAR=scalar)
    return out


@triton.jit(do_not_specialize=E._DNS + ["nan", "posinf", "neginf"])
def nan_to_num_kernel(x_ptr, out_ptr, nan: tl.float64, posinf: tl.float64, neginf: tl.float64, n, S1, S2, S3,
                      X0, X1, X2, X3, O0, O1, O2, O3, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    idx = PW._flat_index(BLOCK, I64)
    mask = idx < n
    x = PW._up(tl.load(x_ptr + PW._strided(idx, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=mask))
    y = tl.where(x != x, PW._scalar_like(nan, 0, x_ptr), x)
    y = tl.where(x == float("inf"), PW._scalar_like(posinf, 0, x_ptr), y)
    y = tl.where(x == float("-inf"), PW._scalar_like(neginf, 0, x_ptr), y)
    tl.store(out_ptr + PW._strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), PW._down(y, out_ptr.dtype.element_ty),
             mask=mask)


def nan_to_num(a, nan, posinf, neginf):
    """NaN, +inf and -inf replaced by the given numbers (a float array; integers are copied)."""
    if a.dtype not in U.FLOATS:
        return E.copy(a)
    out = U.empty(a.shape, a.dtype)
    E._launch(nan_to_num_kernel, a.shape, [a, out], (float(nan), float(posinf), float(neginf)))
    return out
