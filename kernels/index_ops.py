"""The CUDA backend's indexing primitives (backends/primitives.py, after `adam_step`): the gathers and
scatters of kernels/index.py, the out-of-place forms the ops' formulas use, and three kernels of
their own: the triangle of tril / triu, nonzero's positions, and their coordinates.

nonzero (boolean masks, masked_select, x[mask]) must know how many elements are set before it can
allocate its result, so it reads one number back from the device and waits for it, as PyTorch's
nonzero does. Its kernel is a single program walking the input in blocks with a running count
(an in-block prefix sum, tl.cumsum): one launch, linear in the input, not spread over the SMs.
"""
import numpy as np
import triton
import triton.language as tl

from .._dtype import int64
from ..cuda import memory
from . import _utils as U, elementwise as E
from ._launch import fast
from .index import IN_WRITE, check_bounds, gather, index_add_, index_copy_, index_select, scatter_

_DNS_FILL = ["vf", "vi", "n", "S1", "S2", "S3"]
__all__ = ["index_select", "index_select_backward", "index_put", "gather", "gather_backward", "scatter",
           "index_add_", "index_copy_", "scatter_", "index_term", "nonzero", "unravel", "as_strided", "tril", "flip",
           "roll", "diagonal", "diag_embed", "cat", "masked_fill_"]


@triton.jit(do_not_specialize=["R", "C", "k", "n", "S1", "S2", "S3"])
def tril_kernel(x_ptr, out_ptr, R, C, k, n, S1, S2, S3, X0, X1, X2, X3, O0, O1, O2, O3, UPPER: tl.constexpr,
                NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[..., r, c] = x[..., r, c] where c - r <= k (tril; >= k for triu), else 0; p is the row-major
    position over x's full shape (R rows of C columns), whatever dims the launch plan merged."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    d = p % C - (p // C) % R
    keep = d >= k if UPPER else d <= k
    x = tl.load(x_ptr + E._strided(p, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=live & keep, other=0)
    tl.store(out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM), x, mask=live)


@triton.jit(do_not_specialize=["n"])
def nonzero_kernel(x_ptr, out_ptr, count_ptr, n, BLOCK: tl.constexpr):
    """out[:count] = the positions p < n of the contiguous x where x[p] != 0, in order; count_ptr[0] = count."""
    base = tl.full((), 0, tl.int64)
    for start in range(0, n, BLOCK):
        p = start + tl.arange(0, BLOCK).to(tl.int64)
        set_ = (tl.load(x_ptr + p, mask=p < n, other=0) != 0) & (p < n)
        rank = tl.cumsum(set_.to(tl.int64), 0)
        tl.store(out_ptr + base + rank - 1, p, mask=set_)
        base += tl.sum(set_.to(tl.int64), 0)
    tl.store(count_ptr, base)


@triton.jit(do_not_specialize=["div", "size", "n", "nd", "d"])
def unravel_kernel(flat_ptr, out_ptr, div, size, n, nd, d, BLOCK: tl.constexpr):
    """out[i, d] = (flat[i] // div) % size for i < n (out has nd columns)."""
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    f = tl.load(flat_ptr + i, mask=i < n, other=0)
    tl.store(out_ptr + i * nd + d, (f // div) % size, mask=i < n)


@triton.jit(do_not_specialize=["D", "inner"])
def cat_kernel(meta_ptr, out_ptr, D, inner, BLOCK: tl.constexpr):
    """Input k = program_id(1), seen as (outer, d, inner) with strides (s0, s1, s2), lands at
    out[:, off:off + d, :] of the contiguous out (outer, D, inner). meta[k] = (address, n = outer * d *
    inner, d, s0, s1, s2, off), all int64: one launch for any number of inputs, as PyTorch's."""
    m = meta_ptr + tl.program_id(1) * 7
    src = tl.load(m).to(tl.pointer_type(out_ptr.dtype.element_ty))
    n, d = tl.load(m + 1), tl.load(m + 2)
    s0, s1, s2, off = tl.load(m + 3), tl.load(m + 4), tl.load(m + 5), tl.load(m + 6)
    p = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = p < n
    col = p % inner
    q = p // inner
    j = q % d
    i = q // d
    x = tl.load(src + i * s0 + j * s1 + col * s2, mask=live)
    tl.store(out_ptr + (i * D + off + j) * inner + col, x, mask=live)


@triton.jit(do_not_specialize=["total", "n", "inner", "shift", "s0", "s1", "s2"])
def roll_kernel(x_ptr, out_ptr, total, n, inner, shift, s0, s1, s2, BLOCK: tl.constexpr):
    """out (contiguous (outer, n, inner)) [i, j, l] = x[i, (j - shift) mod n, l], 0 <= shift < n."""
    p = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = p < total
    col = p % inner
    q = p // inner
    j = q % n
    i = q // n
    j = tl.where(j >= shift, j - shift, j - shift + n)
    tl.store(out_ptr + p, tl.load(x_ptr + i * s0 + j * s1 + col * s2, mask=live), mask=live)


@triton.jit(do_not_specialize=_DNS_FILL)
def masked_fill_kernel(mask_ptr, out_ptr, vf: tl.float64, vi: tl.int64, n, S1, S2, S3, M0, M1, M2, M3, O0, O1, O2,
                       O3, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[p] = value where mask[p] (mask broadcast to out's shape; out any strided view)."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    m = tl.load(mask_ptr + E._strided(p, S1, S2, S3, M0, M1, M2, M3, NDIM), mask=live, other=0) != 0
    v = E._scalar(vf, vi, out_ptr.dtype.element_ty)
    tl.store(out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM), tl.full([BLOCK], v, v.dtype), mask=live & m)


@triton.jit(do_not_specialize=["size", "stride", "n", "S1", "S2", "S3"])
def index_term_kernel(i_ptr, acc_ptr, out_ptr, size, stride, n, S1, S2, S3, I0, I1, I2, I3, A0, A1, A2, A3, O0, O1,
                      O2, O3, HAS_ACC: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[p] = acc[p] + (i[p] < 0 ? i[p] + size : i[p]) * stride (int64), all strided / broadcast."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    i = tl.load(i_ptr + E._strided(p, S1, S2, S3, I0, I1, I2, I3, NDIM), mask=live, other=0).to(tl.int64)
    v = tl.where(i < 0, i + size, i) * stride
    if HAS_ACC:
        v += tl.load(acc_ptr + E._strided(p, S1, S2, S3, A0, A1, A2, A3, NDIM), mask=live, other=0)
    tl.store(out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM), v, mask=live)


# ----------------------------------------------------------------------------------------------------
def _three(a, dim):
    """(s0, s1, s2): strides of `a` seen as (outer, a.shape[dim], inner), or None when the dims before
    (or after) `dim` do not merge into one in a's memory."""
    def merged(shape, strides):
        dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
        for (_, s0), (n1, s1) in zip(dims, dims[1:]):
            if s0 != s1 * n1:
                return None
        return dims[-1][1] if dims else 0

    s0 = merged(a.shape[:dim], a.strides[:dim])
    s2 = merged(a.shape[dim + 1:], a.strides[dim + 1:])
    return None if s0 is None or s2 is None else (s0, a.strides[dim], s2)


def cat(arrays, dim):
    """A new array: `arrays` (one dtype, equal shapes but along `dim`) joined along `dim` (one launch)."""
    first = arrays[0]
    D = sum(a.shape[dim] for a in arrays)
    shape = first.shape[:dim] + (D,) + first.shape[dim + 1:]
    out = U.empty(shape, first.dtype)
    inner = U.numel(shape[dim + 1:])
    rows, off, keep = [], 0, []
    for a in arrays:
        n = a.size_
        if n:
            st = _three(a, dim)
            if st is None:  # NOTE: a layout whose outer or inner dims do not merge: one extra copy
                a = E.copy(a)
                st = _three(a, dim)
            keep.append(a)
            rows.append((a.data_ptr(), n, a.shape[dim], *st, off))
        off += a.shape[dim]
    if rows:
        meta = memory.from_host(np.array(rows, np.int64), int64)
        block = U.block_for(max(r[1] for r in rows))
        fast(cat_kernel)[(U.cdiv(max(r[1] for r in rows), block), len(rows))](meta, out, D, inner, BLOCK=block,
                                                                               num_warps=4)
    return out


def masked_fill_(out, mask, value):
    """out[mask] = value in place (mask broadcast to out's shape), one launch; value a Python number."""
    vf, vi = U.scalar_args(value, out.dtype)
    for deltas, grid, args, meta in U.plan(tuple(out.shape), [mask, out]):
        m, o = (mask, out) if deltas is None else [
            U.DeviceArray(a.buf, a.offset + d, a.shape, a.strides, a.dtype) for a, d in zip((mask, out), deltas)]
        fast(masked_fill_kernel)[grid](m, o, vf, vi, *args, num_warps=4, **meta)
    return out


def index_select_backward(grad, shape, dim, index, wrap=False):
    """Zeros of `shape` with `grad` added along `dim` at `index` (repeats add up): index_select's gradient."""
    return index_add_(E.full(shape, 0, grad.dtype), dim, index, grad, 1, wrap, None, False)


def index_put(a, dim, index, values, accumulate=False, wrap=False, check=True):
    """A copy of `a` with `values` (a's shape, len(index) along `dim`) written (or added) at `index` along `dim`."""
    out = E.copy(a)
    if accumulate:
        return index_add_(out, dim, index, values, 1, wrap, None, check and IN_WRITE)
    return index_copy_(out, dim, index, values, wrap, check and IN_WRITE)


def gather_backward(grad, shape, dim, index):
    """Zeros of `shape` with `grad` scatter-added at `index` along `dim`: gather's gradient."""
    return scatter_(E.full(shape, 0, grad.dtype), dim, index, grad, "add", False)


def scatter(a, dim, index, src, reduce=None, check=True):
    """A copy of `a` with src scattered (reduce=None) or scatter-added (reduce='add') at `index`."""
    return scatter_(E.copy(a), dim, index, src, reduce, check and IN_WRITE)


def index_term(index, dim, size, stride, acc=None, check=True):
    """acc + wrap(index) * stride (int64, index and acc broadcast together; wrap: negatives count from
    the end): one term of a flat index over several indexed dims, one launch. With `check`, PyTorch's
    IndexError (advanced indexing's, naming `dim`) for a value outside [-size, size) first."""
    if check:
        check_bounds("index", index, dim, size, wrap=True)
    shape = U.broadcast_shapes(index.shape, acc.shape) if acc is not None else tuple(index.shape)
    out = U.empty(shape, int64)
    arrays = [index, index if acc is None else acc, out]
    for deltas, grid, args, meta in U.plan(shape, arrays):
        arrs = arrays if deltas is None else [
            U.DeviceArray(a.buf, a.offset + d, a.shape, a.strides, a.dtype) for a, d in zip(arrays, deltas)]
        fast(index_term_kernel)[grid](*arrs, size, stride, *args, HAS_ACC=acc is not None, num_warps=4, **meta)
    return out


def nonzero(a):
    """The flat positions (int64, 1-d, ascending) of the nonzero elements of `a` (one device read-back)."""
    a = E.contiguous(a)
    n = a.size_
    out = U.empty((n,), int64)
    count = U.empty((1,), int64)
    if n:
        fast(nonzero_kernel)[(1,)](a, out, count, n, BLOCK=1024, num_warps=4)
        k = int(memory.to_host(count)[0])
    else:
        k = 0
    return U.DeviceArray(out.buf, 0, (k,), (1,), int64)


def unravel(flat, shape):
    """Coordinates (len(flat), len(shape)) int64 of the flat positions `flat` in a row-major `shape`."""
    n, nd = flat.shape[0], len(shape)
    out = U.empty((n, nd), int64)
    if n and nd:
        flat = E.contiguous(flat)
        block = U.block_for(n)
        div = 1
        for d in reversed(range(nd)):
            fast(unravel_kernel)[(U.cdiv(n, block),)](flat, out, div, shape[d], n, nd, d, BLOCK=block)
            div *= shape[d]
    return out


def as_strided(a, shape, strides, offset=0):
    """A view of a's memory: `shape`, `strides` (elements, may be negative), `offset` from a's first element."""
    return U.DeviceArray(a.buf, a.offset + offset, tuple(shape), tuple(strides), a.dtype)


def tril(a, diagonal=0, upper=False):
    """A new array: a's lower (upper) triangle of its last two dims from `diagonal` on, zeros elsewhere."""
    out = U.empty(a.shape, a.dtype)
    if not out.size_:
        return out
    launches = U.plan(tuple(a.shape), [a, out])
    if len(launches) > 1:  # NOTE: more than 4 dims that do not merge: positions restart per launch
        a = E.contiguous(a)
        launches = U.plan(tuple(a.shape), [a, out])
    (_, grid, args, meta), = launches
    fast(tril_kernel)[grid](a, out, a.shape[-2], a.shape[-1], int(diagonal), *args, UPPER=bool(upper),
                            num_warps=4, **meta)
    return out



def flip(a, dims):
    """A new array: `a` reversed along `dims` (one copy through a view of negative strides)."""
    strides, offset = list(a.strides), 0
    for d in dims:
        if a.shape[d] > 1:
            offset += (a.shape[d] - 1) * strides[d]
            strides[d] = -strides[d]
    return E.copy(as_strided(a, a.shape, strides, offset))


def roll(a, shifts, dims):
    """A new array: `a` rolled by shifts[i] along dims[i] (one launch per dim, as PyTorch's)."""
    for s, d in zip(shifts, dims):
        n = a.shape[d]
        out = U.empty(a.shape, a.dtype)
        st = _three(a, d)
        if st is None:
            a = E.copy(a)
            st = _three(a, d)
        if a.size_:
            total, block = a.size_, U.block_for(a.size_)
            fast(roll_kernel)[(U.cdiv(total, block),)](a, out, total, n, U.numel(a.shape[d + 1:]), s % n, *st,
                                                      BLOCK=block, num_warps=4)
        a = out
    return a


def _diag_view(a, offset, length):
    start = offset * a.strides[1] if offset >= 0 else -offset * a.strides[0]
    return as_strided(a, (length,), (a.strides[0] + a.strides[1],), start)


def _diag_len(shape, offset):
    return max(0, min(shape[0] + min(offset, 0), shape[1] - max(offset, 0)))


def diagonal(a, offset=0):
    """The `offset` diagonal of the 2-d `a`, a new 1-d array."""
    return E.copy(_diag_view(a, offset, _diag_len(a.shape, offset)))


def diag_embed(v, offset, shape):
    """Zeros of the 2-d `shape` with the 1-d `v` on its `offset` diagonal."""
    out = E.full(tuple(shape), 0, v.dtype)
    if v.size_:
        E.copy_(_diag_view(out, offset, v.shape[0]), v)
    return out
