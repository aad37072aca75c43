"""Sorting on CUDA: sort / argsort / topk along a dim (ops/sort.py), for rows of any length, and the
argsort of random keys that randperm is (kernels/random.py). Everything stays on the device.

Rows: the array is seen as a contiguous (outer, N, inner) layout, row r = (o, i) starting at
o * N * inner + i, elements `inner` apart (mathops' cumsum layout); outputs have rows of K, the
first K of each sorted row (topk: K = k; sort: K = N).

Key: an int64 that orders as the values do: a float's bits with the magnitude flipped for
negatives, -0.0 made +0.0 and every NaN the largest (PyTorch's order); descending sorts the key's
bitwise complement. Ties keep their index order (a stable sort), so the indices are PyTorch's
stable ones, and equal keys never need comparing by value.

Short rows (N <= BLOCK_SORT): one launch; each program sorts BLOCK_M whole rows in registers with a
bitonic network (Triton's own tl.sort, carrying each element's index beside its key) and writes
values (gathered from the input by index) and indices.

Long rows (N > BLOCK_SORT): a merge sort, ceil(log2(N / BLOCK_SORT)) + 1 launches.
1. sort_block_kernel: each program sorts one chunk of BLOCK_SORT elements of a row with the same
   network, writing sorted runs of (key, index) into a contiguous (M, N) pair of int64 buffers.
2. merge_kernel, one launch per pass, ping-ponging between two buffer pairs: each pair of runs of
   width W becomes one run of 2W. An element's place is its offset in its own run plus its rank
   in the other run, found by a vectorized binary search: an element of the left run counts the
   right run's keys strictly less than its own, an element of the right run the left run's keys
   less than or equal to its own. A left run holds smaller indices than its right run, so equal
   keys keep index order: the merge is stable, and no two elements get the same place.
3. The last pass writes the outputs instead of a buffer: the places < K of each row, the value
   gathered from the input by index, in the (outer, K, inner) layout.
topk (K < N): only the first K of a run can reach the first K of any run merged from it, so each
pass reads the first min(W, K) of each run and writes the first min(2W, K) of each merged run:
after the chunk sorts, a pass costs O(N / W * K), not O(N).
"""
import triton
import triton.language as tl

from .._dtype import bool_, int64
from . import _utils as U, elementwise as E
from ._launch import fast

# NOTE: a register sort's code grows as n log^2 n. Compiling one network variant (a dtype, a
# direction) for sm_90 on the busy 2-core dev machine took 3.5 s for 256 elements, 7 s for 512,
# 20 s for 1024 and 418 s for 4096 (tests/test_kernels_compile_sort.py prints them); a merge pass
# (about 0.6 s to compile, one int64 variant plus one final variant per dtype) costs one more
# read and write of the (key, index) buffers. Chunks of 256 keep every variant's compile short.
BLOCK_SORT = 256
_PAD = tl.constexpr(0x7FFFFFFFFFFFFFFF)  # the largest key: padding sorts last (its indices are larger too)


@triton.jit
def _sort_key(x, DESCENDING: tl.constexpr):
    """An int64 that orders as x does: floats' bits, negatives' magnitude flipped, NaN last;
    complemented (the order reversed) when DESCENDING."""
    if x.dtype == tl.float64:
        bits = tl.where(x != x, 0x7FF8000000000000, (x + 0.0).to(tl.int64, bitcast=True))
        key = tl.where(bits < 0, bits ^ 0x7FFFFFFFFFFFFFFF, bits)
    elif x.dtype.is_floating():
        f = x.to(tl.float32)  # NOTE: + 0.0 below makes -0.0 equal to +0.0, as the values compare
        bits = tl.where(f != f, 0x7FC00000, (f + 0.0).to(tl.int32, bitcast=True))
        key = tl.where(bits < 0, bits ^ 0x7FFFFFFF, bits).to(tl.int64)
    else:
        key = x.to(tl.int64)
    if DESCENDING:
        key = ~key
    return key


@triton.jit
def _indicator(n_dims: tl.constexpr, j: tl.constexpr):
    """0 / 1 along hypercube axis n_dims - 1 - j: whether an element is the right one of its pair."""
    ar = tl.arange(0, 2)
    ar = tl.reshape(ar, [1] * (n_dims - j - 1) + [2] + [1] * j)
    return ar


@triton.jit
def _compare_and_swap(k, i, flip, j: tl.constexpr, n_dims: tl.constexpr):
    """One step of the bitonic network on hypercube axis n_dims - 1 - j, on (key, index) pairs.

    NOTE: the partner of each element is the pair's sum less itself (tl.sum, fast in the interpreter
    too; integer wraparound cancels), where Triton's tl.sort takes an xor reduction.
    """
    kp = tl.sum(k, n_dims - 1 - j, keep_dims=True) - k
    ip = tl.sum(i, n_dims - 1 - j, keep_dims=True) - i
    right = _indicator(n_dims, j)
    greater = (k > kp) | ((k == kp) & (i > ip))
    swap = greater != (flip ^ right).to(tl.int1)
    return tl.where(swap, kp, k), tl.where(swap, ip, i)


@triton.jit
def _bitonic(key, idx, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, LOG_M: tl.constexpr, LOG_N: tl.constexpr):
    """Each of the BLOCK_M rows of (key, idx) ([BLOCK_M, BLOCK_N]) sorted by (key, idx)."""
    if LOG_N > 0:
        n_dims: tl.constexpr = LOG_M + LOG_N
        k = tl.reshape(key, [2] * n_dims)
        i = tl.reshape(idx, [2] * n_dims)
        for stage in tl.static_range(1, LOG_N + 1):
            if stage < LOG_N:
                flip = _indicator(n_dims, stage)  # NOTE: alternate directions, so that merges see bitonic runs
            else:
                flip = 0
            for s in tl.static_range(stage):
                k, i = _compare_and_swap(k, i, flip, stage - 1 - s, n_dims)
        key = tl.reshape(k, [BLOCK_M, BLOCK_N])
        idx = tl.reshape(i, [BLOCK_M, BLOCK_N])
    return key, idx


@triton.jit(do_not_specialize=["M", "N", "K"])
def sort_kernel(x_ptr, val_ptr, idx_ptr, M, N, INNER, K, DESCENDING: tl.constexpr, VALUES: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, LOG_M: tl.constexpr, LOG_N: tl.constexpr):
    """The first K of each row of N <= BLOCK_N sorted (values unless not VALUES, and int64 indices)."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok, base = rows < M, (rows // INNER) * N * INNER + rows % INNER
    cols = tl.arange(0, BLOCK_N)
    mask = row_ok[:, None] & (cols < N)[None, :]
    x = tl.load(x_ptr + base[:, None] + cols[None, :] * INNER, mask=mask)
    key = tl.where(mask, _sort_key(x, DESCENDING), _PAD)
    idx = tl.broadcast_to(cols[None, :], [BLOCK_M, BLOCK_N])
    key, idx = _bitonic(key, idx, BLOCK_M, BLOCK_N, LOG_M, LOG_N)
    keep = row_ok[:, None] & (cols < K)[None, :]
    obase = (base // (N * INNER)) * K * INNER + base % INNER
    offs = obase[:, None] + cols[None, :] * INNER
    if VALUES:
        values = tl.load(x_ptr + base[:, None] + idx * INNER, mask=keep)  # NOTE: the values at the sorted indices
        tl.store(val_ptr + offs, values, mask=keep)
    tl.store(idx_ptr + offs, idx.to(tl.int64), mask=keep)


@triton.jit(do_not_specialize=["N", "CHUNKS", "TOTAL"])
def sort_block_kernel(x_ptr, key_ptr, idx_ptr, N, INNER, CHUNKS, TOTAL, DESCENDING: tl.constexpr,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, LOG_M: tl.constexpr, LOG_N: tl.constexpr):
    """BLOCK_M chunks (of TOTAL, CHUNKS a row) sorted: chunk c of row r holds positions c * BLOCK_N ..
    of the row; its sorted (key, index) go to r * N + those positions."""
    chunk = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row = chunk // CHUNKS
    cols = (chunk % CHUNKS)[:, None] * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]
    mask = (chunk < TOTAL)[:, None] & (cols < N)
    x = tl.load(x_ptr + ((row // INNER) * N * INNER + row % INNER)[:, None] + cols * INNER, mask=mask)
    key = tl.where(mask, _sort_key(x, DESCENDING), _PAD)
    key, idx = _bitonic(key, cols, BLOCK_M, BLOCK_N, LOG_M, LOG_N)
    # NOTE: the padding sorted last, so a chunk's real elements fill its positions < N
    tl.store(key_ptr + row[:, None] * N + cols, key, mask=mask)
    tl.store(idx_ptr + row[:, None] * N + cols, idx, mask=mask)


@triton.jit(do_not_specialize=["N", "K", "W", "L", "STEPS", "PROGS"])
def merge_kernel(key_ptr, idx_ptr, key_out, idx_out, x_ptr, val_ptr, N, INNER, K, W, L, STEPS, PROGS,
                 FINAL: tl.constexpr, VALUES: tl.constexpr, BLOCK: tl.constexpr):
    """Sorted runs of W (key, index) of each row of N merged pairwise into runs of 2W (see the module
    docstring), of which only the first L = min(W, K) are read and the first min(2W, K) written;
    FINAL: places < K written as outputs (values from x and indices, rows of K)."""
    pid = tl.program_id(0).to(tl.int64)
    row = pid // PROGS
    e = (pid % PROGS) * BLOCK + tl.arange(0, BLOCK)  # NOTE: 2L elements a pair of runs: L from each
    start = (e // (2 * L)) * (2 * W)  # the left run of the pair
    in_right = e % (2 * L) >= L
    t = e % (2 * L) - tl.where(in_right, L, 0)  # the offset in its own run
    own = tl.where(in_right, start + W, start)
    opp = tl.where(in_right, start, start + W)  # the other run's start
    mask = own + t < N
    keys = key_ptr + row * N
    k = tl.load(keys + own + t, mask=mask)
    lo = tl.zeros([BLOCK], tl.int64)
    hi = tl.maximum(tl.minimum(opp + L, N) - opp, 0)  # NOTE: a last left run may have no right run
    for _ in range(STEPS):  # NOTE: bit_length(L) halvings empty any interval of at most L
        active = lo < hi
        mid = (lo + hi) // 2
        o = tl.load(keys + opp + mid, mask=mask & active, other=0)
        before = tl.where(in_right, o <= k, o < k)
        lo = tl.where(active & before, mid + 1, lo)
        hi = tl.where(active & ~before, mid, hi)
    # NOTE: a rank of L in the first L of the other run means a place >= L: past K, or exact when L = W
    place = t + lo
    i = tl.load(idx_ptr + row * N + own + t, mask=mask)
    if FINAL:  # NOTE: one pair of runs: start is 0
        keep = mask & (place < K)
        offs = (row // INNER) * K * INNER + row % INNER + place * INNER
        if VALUES:
            v = tl.load(x_ptr + (row // INNER) * N * INNER + row % INNER + i * INNER, mask=keep)
            tl.store(val_ptr + offs, v, mask=keep)
        tl.store(idx_out + offs, i, mask=keep)
    else:
        keep = mask & (place < tl.minimum(2 * W, K))
        tl.store(key_out + row * N + start + place, k, mask=keep)
        tl.store(idx_out + row * N + start + place, i, mask=keep)


def _launch_sort(x, M, N, inner, values, indices, k, descending):
    """Sort the M rows of N of contiguous x (see the module docstring) into values (None: not
    wanted) and indices, rows of k."""
    want = values is not None
    if N <= BLOCK_SORT:
        bn = U.next_power_of_2(N)
        bm = max(1, min(U.next_power_of_2(M), BLOCK_SORT // bn))
        fast(sort_kernel)[(U.cdiv(M, bm),)](x, values if want else indices, indices, M, N, inner, k,
                                            DESCENDING=descending, VALUES=want, BLOCK_M=bm, BLOCK_N=bn,
                                            LOG_M=bm.bit_length() - 1, LOG_N=bn.bit_length() - 1,
                                            num_warps=4 if bm * bn <= 4096 else 8)
        return
    chunks = U.cdiv(N, BLOCK_SORT)
    keys = [U.empty((M, N), int64), U.empty((M, N), int64)]
    idxs = [U.empty((M, N), int64), U.empty((M, N), int64)]
    # NOTE: under the interpreter, whose cost is per program and per operation, more per program
    bm = min(U.next_power_of_2(M * chunks), 64) if U.INTERPRET else 1
    fast(sort_block_kernel)[(U.cdiv(M * chunks, bm),)](x, keys[0], idxs[0], N, inner, chunks, M * chunks,
                                                       DESCENDING=descending, BLOCK_M=bm, BLOCK_N=BLOCK_SORT,
                                                       LOG_M=bm.bit_length() - 1, LOG_N=BLOCK_SORT.bit_length() - 1,
                                                       num_warps=4)
    w, src = BLOCK_SORT, 0
    while w < N:
        final, keep = 2 * w >= N, min(w, k)  # NOTE: only a run's first k can reach the first k (topk)
        n = U.cdiv(N, 2 * w) * 2 * keep  # the elements merged
        block = min(U.next_power_of_2(n), 1 << 15) if U.INTERPRET else 1024
        # NOTE: x and values only where they are read: the other passes are one int64 variant
        xv, vals = (x, values) if final and want else (keys[0], keys[0])
        k_out, i_out = (indices, indices) if final else (keys[1 - src], idxs[1 - src])
        fast(merge_kernel)[(M * U.cdiv(n, block),)](keys[src], idxs[src], k_out, i_out, xv, vals, N, inner, k, w, keep,
                                                     keep.bit_length(), U.cdiv(n, block), FINAL=final,
                                                     VALUES=want and final, BLOCK=block, num_warps=4)
        w, src = 2 * w, 1 - src


def _rows(a, dim):
    """(contiguous a (bool as int64), M rows, N, inner) for rows along `dim`."""
    x = E.contiguous(a)
    n = a.shape[dim] if a.ndim else 1
    return x if x.dtype is not bool_ else E.astype(x, int64), U.numel(a.shape) // n, n, U.numel(a.shape[dim + 1:])


def _out_shape(a, dim, k):
    return a.shape[:dim] + (k,) + a.shape[dim + 1:] if a.ndim else ()


def sort(a, dim, descending=False, k=None):
    """(values, indices) of the first k (all: None) of each row along `dim`, sorted; stable."""
    k = (a.shape[dim] if a.ndim else 1) if k is None else k
    shape = _out_shape(a, dim, k)
    values, indices = U.empty(shape, a.dtype), U.empty(shape, int64)
    if U.numel(shape) == 0:
        return values, indices
    values_out = values if values.dtype is not bool_ else U.empty(shape, int64)
    _launch_sort(*_rows(a, dim), values_out, indices, k, descending)
    if values_out is not values:
        E.copy_(values, values_out)
    return values, indices


def argsort(a, dim, descending=False):
    """The int64 indices that sort each row along `dim` (stable), without gathering the values."""
    indices = U.empty(a.shape, int64)
    if U.numel(a.shape):
        _launch_sort(*_rows(a, dim), None, indices, a.shape[dim] if a.ndim else 1, descending)
    return indices
