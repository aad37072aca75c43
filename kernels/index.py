"""Gathers and scatters along one dim: index_select (embedding's forward), gather, index_add_
(embedding's backward), index_copy_, scatter_ / scatter_add_, and the bounds check they share.

Two kernels do all of it. Each walks the positions p of an iteration shape (out's for the gathers,
the index's or src's for the scatters) and reads every operand through its own strides, as the
elementwise kernels do; the indexed operand gets stride 0 along `dim`, and the index value i adds
i * stride(dim) instead:

    gather_kernel:   out[p] = x[xoff(p) + i(p) * x.stride(dim)]
    scatter_kernel:  out[ooff(p) + i(p) * out.stride(dim)]  =  (or +=) src[p] * alpha

index_select reads the 1-d index with stride 0 on every dim but `dim`; gather / scatter read an
index of the iteration shape. So any layout of any operand works without copies.

Repeated indices (scatter-add, index_add_): atomic adds (tl.atomic_add), as PyTorch's CUDA
index_add_ does, into an fp32 buffer for fp16 / bf16 (PyTorch adds in half precision there), int32
for the small integer types and bool (then cast back: bool becomes "any"). Every contribution is
added, whatever the repeats; the order of the floating-point adds is not fixed, so float results
may differ between runs in the last bits (integer results never do). We chose atomics over a
sort-based deterministic kernel because sorting indices on the device needs several launches
(histogram, scan, permutation) for every embedding backward; the CPU reference (np.add.at) is
deterministic.

Bounds: `check=True` (the default) finds the first out-of-range index (in index order), the host
reads back 16 bytes per program (or per launch), and PyTorch's error is raised before any array the
caller holds is written, in PyTorch's single launch wherever one of these applies:
- the gathers check in their own launch (the kernels' CHECK 1), since what they write is a new array
  that an error discards; so do the scatters of the out-of-place ops (scatter, index_put: a copy, then
  the checked write: PyTorch's clone and scatter);
- the in-place scatters (`x[idx] = v`, scatter_, index_add_, ...) write all or nothing (scatter_kernel's
  CHECK 2): every program reads every index before it writes, and none writes if one is out of range.
  That costs programs x indices reads, so it runs where they stay within SCAN_BUDGET (2^20: a 4096-index
  x[idx] = v of 256 programs) and the index can be walked flat (1-d, or contiguous); otherwise
  `check_bounds` runs first, one small launch more than PyTorch (whose device-side assert fires
  mid-write: a kernel cannot refuse before its first program writes, as Triton has no grid barrier).
Either way a check costs a device-to-host copy and a stream synchronization per call (the host waits
for the queued work). With check=False, or while a CUDA graph is being captured (no synchronization is
allowed then), no check runs; the kernels still never touch memory out of range: an out-of-range index
reads 0 and writes nothing.
"""
import numpy as np
import triton
import triton.language as tl

from .. import _nn_checks as IC
from .._dtype import float32, float64, int32, int64
from ..cuda import memory
from ..cuda.graphs import is_current_stream_capturing
from . import _utils as U, elementwise as E
from ._launch import fast

_DNS = ["size", "sdim", "n"]


@triton.jit
def _index_at(idx_ptr, p, live, size, S1, S2, S3, I0, I1, I2, I3, WRAP: tl.constexpr, NDIM: tl.constexpr):
    """The index value at position p (int64; negatives wrapped when WRAP) and whether it is in range."""
    i = tl.load(idx_ptr + E._strided(p, S1, S2, S3, I0, I1, I2, I3, NDIM), mask=live, other=0).to(tl.int64)
    if WRAP:
        i = tl.where(i < 0, i + size, i)
    return i, live & (i >= 0) & (i < size)


@triton.jit(do_not_specialize=_DNS)
def gather_kernel(x_ptr, idx_ptr, out_ptr, bad_ptr, size, sdim, n, S1, S2, S3, X0, X1, X2, X3, I0, I1, I2, I3,
                  O0, O1, O2, O3, CHECK: tl.constexpr, WRAP: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr,
                  BLOCK: tl.constexpr):
    """out[p] = x[xoff(p) + i * sdim], i = idx[ioff(p)], for p < n (0 where i is out of range). With
    CHECK, bad[pid] = (p, value) of this program's first out-of-range index, or (n, 0): the bounds check
    rides on the gather instead of a launch of its own (first_bad_kernel)."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    i, ok = _index_at(idx_ptr, p, live, size, S1, S2, S3, I0, I1, I2, I3, WRAP, NDIM)
    x = tl.load(x_ptr + E._strided(p, S1, S2, S3, X0, X1, X2, X3, NDIM) + i * sdim, mask=ok, other=0)
    tl.store(out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM), x, mask=live)
    if CHECK:
        _record_first_bad(bad_ptr, p, i, live & ~ok, n, size, WRAP)


@triton.jit
def _record_first_bad(bad_ptr, p, i, bad, n, size, WRAP: tl.constexpr):
    """bad[pid] = (p, value) of this program's first out-of-range index, or (n, 0)."""
    first = tl.min(tl.where(bad, p.to(tl.int64), n), 0)
    raw = i
    if WRAP:
        raw = tl.where(i < 0, i - size, i)  # NOTE: the value as given (wrapping added size)
    pid = tl.program_id(0)
    tl.store(bad_ptr + 2 * pid, first)
    tl.store(bad_ptr + 2 * pid + 1, tl.sum(tl.where(p == first, raw, 0), 0))


@triton.jit(do_not_specialize=_DNS + ["skip", "alpha_f", "alpha_i"])
def scatter_kernel(src_ptr, idx_ptr, out_ptr, bad_ptr, size, sdim, skip, alpha_f: tl.float64, alpha_i: tl.int64,
                   n_idx, idx_stride, n, S1, S2, S3, X0, X1, X2, X3, I0, I1, I2, I3, O0, O1, O2, O3,
                   ADD: tl.constexpr, WRAP: tl.constexpr, HAS_SKIP: tl.constexpr, HAS_ALPHA: tl.constexpr,
                   CHECK: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[ooff(p) + i * sdim] (+)= src[xoff(p)] * alpha, i = idx[ioff(p)], for p < n; an index out of
    range, or equal to `skip`, writes nothing. CHECK 1: bad as gather_kernel's (only for an `out` that an
    error discards: the in-range writes have happened by then). CHECK 2, all or nothing: every program
    first reads all n_idx indices (at idx_ptr, idx_stride apart, in index order), and writes nothing if
    one is out of range; program 0 stores bad = (its position, its value), or (n_idx, 0)."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    i, ok = _index_at(idx_ptr, p, live, size, S1, S2, S3, I0, I1, I2, I3, WRAP, NDIM)
    if CHECK == 1:
        _record_first_bad(bad_ptr, p, i, live & ~ok, n, size, WRAP)
    if CHECK == 2:
        first, raw = _first_bad_of_all(idx_ptr, n_idx, idx_stride, size, WRAP, BLOCK)
        ok = tl.where(first == n_idx, ok, False)
        if tl.program_id(0) == 0:
            tl.store(bad_ptr, first)
            tl.store(bad_ptr + 1, raw)
    if HAS_SKIP:
        ok = ok & (i != skip)
    dtype = out_ptr.dtype.element_ty
    v = tl.load(src_ptr + E._strided(p, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=ok, other=0).to(dtype)
    if HAS_ALPHA:
        if dtype.is_floating():
            v = v * tl.full((), alpha_f, tl.float64).to(dtype)  # NOTE: the interpreter passes Python numbers
        else:
            v = v * tl.full((), alpha_i, tl.int64).to(dtype)
    dst = out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM) + i * sdim
    if ADD:
        tl.atomic_add(dst, v, mask=ok, sem="relaxed")
    else:
        tl.store(dst, v, mask=ok)


@triton.jit
def _first_bad_of_all(idx_ptr, n_idx, stride, size, WRAP: tl.constexpr, BLOCK: tl.constexpr):
    """(position, value as given) of the first index outside [0, size) ([-size, size) with WRAP) among
    the n_idx at idx_ptr, stride apart; (n_idx, 0) when there is none."""
    first = tl.zeros((), tl.int64) + n_idx
    raw = tl.zeros((), tl.int64)
    for start in range(0, n_idx, BLOCK):
        q = start + tl.arange(0, BLOCK).to(tl.int64)
        live = q < n_idx
        v = tl.load(idx_ptr + q * stride, mask=live, other=0).to(tl.int64)
        i = tl.where(v < 0, v + size, v) if WRAP else v
        f = tl.min(tl.where(live & ((i < 0) | (i >= size)), q, n_idx), 0)
        take = f < first  # NOTE: blocks run in index order: only the first block with a bad index takes
        raw = tl.where(take, tl.sum(tl.where(q == f, v, 0), 0), raw)
        first = tl.where(take, f, first)
    return first, raw


@triton.jit(do_not_specialize=["n", "size"])
def first_bad_kernel(idx_ptr, out_ptr, n, size, WRAP: tl.constexpr, BLOCK: tl.constexpr):
    """For this program's BLOCK indices (contiguous): out[pid] = (position, value) of the first index
    outside [0, size) ([-size, size) when WRAP), or (n, 0) when there is none."""
    pid = tl.program_id(0)
    p = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = p < n
    i = tl.load(idx_ptr + p, mask=live, other=0).to(tl.int64)
    lo = -size if WRAP else 0
    first = tl.min(tl.where(live & ((i < lo) | (i >= size)), p, n), 0)
    tl.store(out_ptr + 2 * pid, first)
    tl.store(out_ptr + 2 * pid + 1, tl.sum(tl.where(p == first, i, 0), 0))


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _1d(a):
    """A 0-d array as one element along dim 0 (PyTorch's rule for these ops)."""
    return U.DeviceArray(a.buf, a.offset, (1,), (1,), a.dtype) if a.ndim == 0 else a


def _along(a, shape, dim, keep_dim=False):
    """A stand-in of `a` with `shape` (no bigger than a's): a's strides, 0 along `dim` (the index
    supplies that coordinate), or only along `dim` (keep_dim: a 1-d index read for every position)."""
    if keep_dim:
        strides = tuple(a.strides[0] if d == dim else 0 for d in range(len(shape)))
    else:
        strides = tuple(0 if d == dim else s for d, s in enumerate(a.strides))
    return U.DeviceArray(a.buf, a.offset, tuple(shape), strides, a.dtype)


def _launch(kernel, shape, arrays, scalars, **meta):
    """Launch a strided kernel over `shape`: pointers `arrays` (their strides in order), then `scalars`."""
    for deltas, grid, args, nd_meta in U.plan(tuple(shape), arrays):
        arrs = arrays if deltas is None else [
            U.DeviceArray(a.buf, a.offset + d, a.shape, a.strides, a.dtype) for a, d in zip(arrays, deltas)]
        fast(kernel)[grid](*arrs, *scalars, *args, num_warps=4, **nd_meta, **meta)


def check_bounds(op, index, dim, size, wrap=False):
    """Raise PyTorch's error for `op` (see _nn_checks.out_of_bounds) if an entry of `index` is outside
    [0, size) ([-size, size) with `wrap`), naming the first such entry in index order.

    One launch, then a synchronizing device-to-host copy of 16 bytes per BLOCK indices.
    """
    n = index.size_
    if not n:
        return
    flat = E.contiguous(_1d(index))
    block = U.block_for(n)
    out = U.empty((U.cdiv(n, block), 2), int64)
    fast(first_bad_kernel)[(U.cdiv(n, block),)](flat, out, n, size, WRAP=bool(wrap), BLOCK=block, num_warps=4)
    found = memory.to_host(out)
    pos, value = found[int(np.argmin(found[:, 0]))]
    if pos < n:
        raise IC.out_of_bounds(op, int(value), dim, size, wrap)


def _maybe_check(op, check, index, dim, size, wrap):
    if check and not is_current_stream_capturing():
        check_bounds(op, index, dim, size, wrap)


def _run(kernel, op, check, shape, arrays, scalars, dim, size, wrap, **meta):
    """Launch gather_kernel or scatter_kernel over `shape` (arrays: the three operand views; scalars: the
    kernel's before n). With `check`, the indices are checked in the same launches (see check_bounds),
    then PyTorch's error is raised for the first out-of-range one in index order. Positions run row-major
    over `shape`, and every index entry's first position comes before the next entry's, so the first bad
    position holds the first bad index."""
    scan = check if check.__class__ is tuple else None  # NOTE: scatter_kernel's CHECK 2: (n_idx, stride, index)
    plans = U.plan(tuple(shape), arrays)
    if scan and len(plans) > 1:  # NOTE: rare (see U.plan); later launches' shifted pointers can't walk the index
        check_bounds(op, scan[2], dim, size, wrap)
        scan, check = None, False
    check = 2 if scan else int(bool(check) and not is_current_stream_capturing())
    found = []
    for deltas, grid, args, nd_meta in plans:
        arrs = arrays if deltas is None else [
            U.DeviceArray(a.buf, a.offset + d, a.shape, a.strides, a.dtype) for a, d in zip(arrays, deltas)]
        bad = U.empty((1 if scan else grid[0], 2), int64) if check else arrs[2]  # NOTE: not read without CHECK
        fast(kernel)[grid](*arrs, bad, *scalars, *args, CHECK=check, WRAP=bool(wrap), num_warps=4, **nd_meta,
                           **meta)
        found.append((bad, scan[0] if scan else args[0]))
    for bad, n in found if check else ():  # NOTE: launches run in order of position: the first bad one wins
        h = memory.to_host(bad)
        pos, value = h[int(np.argmin(h[:, 0]))]
        if pos < n:
            raise IC.out_of_bounds(op, int(value), dim, size, wrap)


def _gather(op, check, shape, arrays, dim, size, sdim, wrap):
    """gather_kernel over `shape` (arrays: x, index, out views), its check in the same launch: what it
    writes is a new array that an error discards."""
    _run(gather_kernel, op, check, shape, arrays, (size, sdim), dim, size, wrap)


def index_select(x, dim, index, wrap=False, check=True):
    """out = x indexed along `dim` by the 0-d or 1-d int32/int64 `index`; a new contiguous array with
    out.shape[dim] = index.size. `wrap`: negative indices count from the end, errors as x[idx].
    Embedding's forward: index_select(weight, 0, ids.reshape(-1)), reshaped to ids.shape + (C,)."""
    IC.check_dim(dim, x.ndim)
    IC.check_index_dtype("index_select", index.dtype)
    IC.check_index_select(x.ndim, index.shape)
    x1, i1 = _1d(x), _1d(index)
    size = x1.shape[dim]
    shape = tuple(x1.shape[:dim]) + (i1.shape[0],) + tuple(x1.shape[dim + 1:])
    out = U.empty(shape if x.ndim else (), x.dtype)
    if U.numel(shape):
        _gather("index_select", check, shape, [_along(x1, shape, dim), _along(i1, shape, dim, True), _1d(out)],
                dim, size, x1.strides[dim], wrap)
    else:  # NOTE: nothing to gather, but PyTorch still checks the indices
        _maybe_check("index_select", check, i1, dim, size, wrap)
    return out


def gather(x, dim, index, check=True):
    """torch.gather: out[p] = x[p with its `dim` coordinate replaced by index[p]]; out (index's shape,
    x's dtype) is a new contiguous array."""
    IC.check_gather(x.shape, dim, index.shape)
    IC.check_index_dtype("gather", index.dtype)
    x1, i1 = _1d(x), _1d(index)
    out = U.empty(index.shape, x.dtype)
    if index.size_:
        _gather("gather", check, i1.shape, [_along(x1, i1.shape, dim), i1, _1d(out)], dim, x1.shape[dim],
                x1.strides[dim], False)
    return out


def _accumulate(out, launch):
    """Run `launch(target)` (atomic adds) on `out`, or on a wider copy of it written back after."""
    if out.dtype in (float32, float64, int32, int64):
        launch(out)
        return out
    wide = E.astype(out, float32 if out.dtype in U.FLOATS else int32)  # NOTE: bool adds as int32: "any"
    launch(wide)
    return E.copy_(out, wide)


IN_WRITE = "in the write launch"  # a scatter's `check` for an `out` nobody else holds yet (see _bounds)
SCAN_BUDGET = 1 << 20  # index reads of an all-or-nothing write: programs x indices (see _bounds)


def _bounds(op, check, i1, shape, dim, size, wrap):
    """How a scatter checks its indices (see check_bounds); returns the `check` of its write launch (_run):
    - an `out` nobody else holds yet (check=IN_WRITE: the copy an out-of-place op returns): True, each
      program records its first bad index as it writes, and the error then discards `out`;
    - an existing `out` (check=True): (n_idx, stride, i1), an all-or-nothing write (scatter_kernel's CHECK 2:
      every program reads every index before it writes), when the index can be walked flat and the reads
      stay within SCAN_BUDGET (x[idx] = v of training sizes); else check_bounds' launch first, then False.
    Both keep PyTorch's single launch where they apply. No check, or an empty write: False."""
    n = U.numel(shape)
    if not check or not n or is_current_stream_capturing():
        _maybe_check(op, bool(check), i1, dim, size, wrap)
        return False
    if check is IN_WRITE:
        return True
    walk = (i1.shape[0], i1.strides[0]) if i1.ndim == 1 else (i1.size_, 1) if i1.is_contiguous() else None
    if walk is not None and U.cdiv(n, U.block_for(n)) * walk[0] <= SCAN_BUDGET:
        return (*walk, i1)
    check_bounds(op, i1, dim, size, wrap)
    return False


def _scatter(out, dim, idx_view, src_view, shape, add, wrap, skip=None, alpha=1, op=None, check=False):
    o1 = _1d(out)

    def launch(target):
        t1 = _1d(target)
        af, ai = U.scalar_args(alpha, target.dtype)
        walk = check[:2] if check.__class__ is tuple else (0, 0)
        _run(scatter_kernel, op, check, shape, [src_view, idx_view, _along(t1, shape, dim)],
             (o1.shape[dim], t1.strides[dim], 0 if skip is None else int(skip), af, ai, *walk), dim, o1.shape[dim],
             wrap, ADD=add, HAS_SKIP=skip is not None, HAS_ALPHA=alpha != 1)

    if not U.numel(shape):
        return out
    if add:
        return _accumulate(out, launch)
    launch(out)
    return out


def scatter_(out, dim, index, src, reduce=None, check=True):
    """torch.Tensor.scatter_(dim, index, src) (reduce=None) or scatter_add_ (reduce='add'), in place on
    `out` (any view): out[p with its `dim` coordinate replaced by index[p]] (+)= src[p], p over index's
    shape. src has out's dtype (a scalar value: pass it expanded to index's shape). `check`: True, False
    or IN_WRITE (see _bounds)."""
    if reduce not in (None, "add"):
        raise NotImplementedError(f"scatter_ with reduce={reduce!r}: only None and 'add' are implemented")
    IC.check_scatter(out.shape, dim, index.shape, src.shape, out.dtype, src.dtype)
    IC.check_index_dtype("scatter", index.dtype)
    i1 = _1d(index)
    fused = _bounds("scatter", check, i1, i1.shape, dim, _1d(out).shape[dim], False)
    s1 = _1d(src)
    src_view = U.DeviceArray(s1.buf, s1.offset, i1.shape, s1.strides, s1.dtype)  # NOTE: src may be larger
    return _scatter(out, dim, i1, src_view, i1.shape, reduce == "add", False, op="scatter", check=fused)


def index_add_(out, dim, index, src, alpha=1, wrap=False, skip=None, check=True):
    """out.index_add_(dim, index, src, alpha=alpha), in place on `out` (any view); every repeated index
    adds (atomics: see the module docstring). `skip` (>= 0): entries whose index equals it add nothing
    (embedding's padding_idx); `wrap`: negative indices count from the end, errors as index_put_'s.
    Embedding's backward: index_add_(zeros(V, C), 0, ids.reshape(-1), grad.reshape(-1, C), skip=padding_idx)."""
    IC.check_index_dtype("index_add_", index.dtype)
    IC.check_vector_index("index_add_", index.shape)
    IC.check_index_add("index_add_", out.shape, dim, index.size_, src.shape, out.dtype, src.dtype)
    i1, s1 = _1d(index), _1d(src)
    fused = _bounds("index_add_", check, i1, s1.shape, dim, _1d(out).shape[dim], wrap)
    return _scatter(out, dim, _along(i1, s1.shape, dim, True), s1, s1.shape, True, wrap, skip, alpha, "index_add_",
                    fused)


def index_copy_(out, dim, index, src, wrap=False, check=True):
    """out.index_copy_(dim, index, src), in place on `out` (any view); with repeated indices one of the
    values lands (as in PyTorch). With `wrap`, x[idx] = v along one dim (index_put_ without accumulate)."""
    IC.check_index_dtype("index_copy_", index.dtype)
    IC.check_vector_index("index_copy_", index.shape)
    IC.check_index_add("index_copy_", out.shape, dim, index.size_, src.shape, out.dtype, src.dtype)
    i1, s1 = _1d(index), _1d(src)
    fused = _bounds("index_copy_", check, i1, s1.shape, dim, _1d(out).shape[dim], wrap)
    return _scatter(out, dim, _along(i1, s1.shape, dim, True), s1, s1.shape, False, wrap, op="index_copy_",
                    check=fused)

