"""Reductions: sum / mean / amax / amin / all / any / prod over any set of dims, argmax / argmin.

Every reduction is brought to a 2-D strided view (M kept rows, R reduced columns) with strides
(sm, sr): directly when the kept dims and the reduced dims each collapse to one dim, else through
one contiguous copy of the permuted array. A program reduces BLOCK_M rows, walking R in BLOCK_R
chunks into a [BLOCK_M, BLOCK_R] accumulator (lane-wise, then once across lanes at the end), so
both reducing along the contiguous dim (x.sum(-1)) and across it (x.sum(0), bias gradients) load
coalesced tiles. When there are too few rows to fill the GPU (x.sum()), R is split across
programs and a second launch of the same kernel reduces the partial results: no atomics, so
results are deterministic.

NOTE: accumulation in fp32 for fp16 / bf16 / fp32, fp64 for float64, int64 for integers and bool
(sum and prod then return int64, as PyTorch; NumPy gives uint64 for unsigned inputs).
amax / amin propagate NaN as NumPy; argmax / argmin return the first occurrence, NaN winning.
"""
import functools

import numpy as np
import triton
import triton.language as tl

from .._dtype import bool_, float32, float64, int64
from ..backends import primitives as P
from . import _utils as U, elementwise as E
from ._launch import fast
from .pointwise import _nan

REDUCE_OPS = P.names("reduce")  # NOTE: from the primitive list
_TL = {float32: tl.float32, float64: tl.float64, int64: tl.int64}


@triton.jit
def _tree_prod(x, BLOCK_M: tl.constexpr, BLOCK_R: tl.constexpr, LOG_R: tl.constexpr):
    """Product of [BLOCK_M, BLOCK_R] along its last dim by halving (Triton has no tl.prod).

    NOTE: not tl.reduce with a custom combine: the interpreter runs those one element at a time.
    """
    for j in tl.static_range(LOG_R):
        a, b = tl.split(tl.reshape(x, [BLOCK_M, BLOCK_R >> (j + 1), 2]))
        x = a * b
    return tl.reshape(x, [BLOCK_M])


@triton.jit
def _better(v1, i1, v2, i2, IS_MAX: tl.constexpr):
    """Whether (v1, i1) beats (v2, i2) for argmax / argmin: NaN wins, ties go to the lower index."""
    nan1 = v1 != v1
    nan2 = v2 != v2
    if IS_MAX:
        win = v1 > v2
    else:
        win = v1 < v2
    win = win | (nan1 & ~nan2)
    tie = (v1 == v2) | (nan1 & nan2)
    return win | (tie & (i1 < i2))


@triton.jit(do_not_specialize=["M", "R", "r_chunk", "div"])
def reduce_kernel(x_ptr, out_ptr, M, R, sm, sr, r_chunk, div: tl.float64, OP: tl.constexpr, ACC: tl.constexpr,
                  IDENT: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_R: tl.constexpr, LOG_R: tl.constexpr):
    """out[s, m] = OP over r in chunk s of x[m * sm + r * sr]; m < M, r < R, chunk s = program_id(1).

    ACC is the accumulation dtype, IDENT the op's identity; mean divides by `div` (the total count).
    """
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    r_start = tl.program_id(1).to(tl.int64) * r_chunk
    r_end = tl.minimum(r_start + r_chunk, R)
    row_ok = rows < M
    base = x_ptr + rows[:, None] * sm  # NOTE: int64 offsets: a (M, R) view can span > 2**31 elements
    acc = tl.full([BLOCK_M, BLOCK_R], IDENT, ACC)
    for r0 in range(r_start, r_end, BLOCK_R):
        cols = r0 + tl.arange(0, BLOCK_R)
        mask = row_ok[:, None] & (cols < r_end)[None, :]
        x = tl.load(base + cols[None, :] * sr, mask=mask)
        if OP == "all" or OP == "any":
            x = (x != 0).to(ACC)
        else:
            x = x.to(ACC)
        x = tl.where(mask, x, IDENT)
        if OP == "sum" or OP == "mean":
            acc += x
        elif OP == "prod":
            acc *= x
        elif OP == "amax":
            acc = tl.where((x > acc) | (x != x), x, acc)
        elif OP == "amin":
            acc = tl.where((x < acc) | (x != x), x, acc)
        elif OP == "all":
            acc = tl.minimum(acc, x)
        else:
            acc = tl.maximum(acc, x)
    if OP == "sum" or OP == "mean":
        res = tl.sum(acc, axis=1)
        if OP == "mean":
            res = res / tl.full((), div, ACC)
    elif OP == "prod":
        res = _tree_prod(acc, BLOCK_M, BLOCK_R, LOG_R)
    elif OP == "amax" or OP == "any":
        res = tl.max(acc, axis=1)
    else:
        res = tl.min(acc, axis=1)
    if OP == "amax" or OP == "amin":
        if acc.dtype.is_floating():  # NOTE: tl.max / tl.min skip NaN; lanes hold it, so put it back
            res = tl.where(tl.max((acc != acc).to(tl.int32), axis=1) > 0, _nan(), res)
    tl.store(out_ptr + tl.program_id(1).to(tl.int64) * M + rows, res.to(out_ptr.dtype.element_ty), mask=row_ok)


@triton.jit(do_not_specialize=["M", "R", "r_chunk"])
def arg_reduce_kernel(x_ptr, idx_ptr, val_out_ptr, out_ptr, M, R, sm, sr, r_chunk, IS_MAX: tl.constexpr,
                      HAS_IDX: tl.constexpr, ACC: tl.constexpr, IDENT: tl.constexpr, BLOCK_M: tl.constexpr,
                      BLOCK_R: tl.constexpr, LOG_R: tl.constexpr):
    """out[s, m] = index of the best x[m * sm + r * sr] over r in chunk s (first occurrence).

    With HAS_IDX, x holds partial results and idx_ptr (same strides) their indices (second stage).
    val_out[s, m] receives the best value (for a second stage).
    """
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    r_start = tl.program_id(1).to(tl.int64) * r_chunk
    r_end = tl.minimum(r_start + r_chunk, R)
    row_ok = rows < M
    best = tl.full([BLOCK_M, BLOCK_R], IDENT, ACC)
    best_i = tl.full([BLOCK_M, BLOCK_R], 2**62, tl.int64)
    for r0 in range(r_start, r_end, BLOCK_R):
        cols = r0 + tl.arange(0, BLOCK_R)
        mask = row_ok[:, None] & (cols < r_end)[None, :]
        offs = rows[:, None] * sm + cols[None, :] * sr
        x = tl.where(mask, tl.load(x_ptr + offs, mask=mask).to(ACC), IDENT)
        if HAS_IDX:
            i = tl.load(idx_ptr + offs, mask=mask)
        else:
            i = tl.broadcast_to(cols[None, :].to(tl.int64), [BLOCK_M, BLOCK_R])
        i = tl.where(mask, i, 2**62)
        take = _better(x, i, best, best_i, IS_MAX)
        best = tl.where(take, x, best)
        best_i = tl.where(take, i, best_i)
    # NOTE: a halving tree instead of tl.reduce with a custom combine: the interpreter runs those
    # one element at a time.
    for j in tl.static_range(LOG_R):
        v1, v2 = tl.split(tl.reshape(best, [BLOCK_M, BLOCK_R >> (j + 1), 2]))
        i1, i2 = tl.split(tl.reshape(best_i, [BLOCK_M, BLOCK_R >> (j + 1), 2]))
        take = _better(v1, i1, v2, i2, IS_MAX)
        best = tl.where(take, v1, v2)
        best_i = tl.where(take, i1, i2)
    o = tl.program_id(1).to(tl.int64) * M + rows
    tl.store(out_ptr + o, tl.reshape(best_i, [BLOCK_M]), mask=row_ok)
    tl.store(val_out_ptr + o, tl.reshape(best, [BLOCK_M]).to(val_out_ptr.dtype.element_ty), mask=row_ok)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _normalize_dims(dims, ndim):
    if dims is None or (not isinstance(dims, int) and len(dims) == 0):
        return tuple(range(ndim))
    dims = (dims,) if isinstance(dims, int) else dims
    out = sorted({d + ndim if d < 0 else d for d in dims})
    for d in out:
        if not 0 <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                             f"{max(ndim, 1) - 1}], but got {d})")
    return tuple(d for d in out if d < ndim)


def _as_2d(shape, strides, dims):
    """(M, R, sm, sr, perm): the array as M rows by R reduced columns with strides (sm, sr); perm is
    None, or the permutation whose contiguous copy has strides (R, 1) when the strides do not allow it."""
    kept = [d for d in range(len(shape)) if d not in dims]
    M = U.numel([shape[d] for d in kept])
    R = U.numel([shape[d] for d in dims])
    ks, (kst,) = U.collapse([shape[d] for d in kept], [[strides[d] for d in kept]])
    rs, (rst,) = U.collapse([shape[d] for d in dims], [[strides[d] for d in dims]])
    if len(ks) == 1 and len(rs) == 1:
        return M, R, kst[0], rst[0], None
    return M, R, R, 1, tuple(kept + list(dims))


# NOTE: measured on an H100 (scripts/gpu_probe.py; benchmarks/results/h100/README.md), sums of
# 2^26 float32 against a copy's ~2930 GB/s:
# - rows of at least 2048 contiguous elements: tiles of TILE elements, 8 warps (sum over all, and
#   dim 1 of 8192 x 8192: 2501 / 2585 GB/s; 4096-element tiles and 4 warps gave 1148 / 2576);
# - shorter rows: one row of TILE_NARROW per program, 4 warps (1024-element rows: 2706 GB/s; tiles
#   of 4096 gave 2228, and 8 warps fell to 29% of a copy);
# - the kept dim contiguous (dim 0): TILE_STRIDED elements, 8 warps (2382 GB/s on 65536 x 1024);
# - too few rows for the SMs: R is split into about PROGRAMS programs.
TILE, TILE_NARROW, TILE_STRIDED, WARPS, WARPS_STRIDED, PROGRAMS = 8192, 1024, 2048, 8, 8, 528


def _tiles(M, R, sm, sr):
    """(BLOCK_M, BLOCK_R, split, num_warps): coalesced along the unit stride (constants above)."""
    p2 = triton.next_power_of_2
    if U.INTERPRET:
        br = min(p2(R), 4096)
        return min(p2(M), max(1, 16384 // br)), br, 1, 4
    warps = WARPS
    if sm == 1 and sr != 1:  # the kept dim is contiguous: wide rows of BLOCK_M
        warps = WARPS_STRIDED
        bm = min(p2(M), 256)
        br = max(1, min(p2(R), TILE_STRIDED // bm))
    elif p2(R) >= TILE // 4:
        br = TILE // 4
        bm = max(1, min(p2(M), TILE // br))
    else:
        br, warps = p2(R), 4
        bm = max(1, min(p2(M), TILE_NARROW // br))
    progs = U.cdiv(M, bm)
    split = 1
    if progs < PROGRAMS // 2 and R > 8 * br:  # NOTE: too few programs for the SMs: split R
        split = min(U.cdiv(R, 4 * br), U.cdiv(PROGRAMS, progs))
    return bm, br, split, warps


def _blocks(bm, br, warps):
    return dict(BLOCK_M=bm, BLOCK_R=br, LOG_R=br.bit_length() - 1, num_warps=warps)


def _acc_dtype(op, dtype):
    if op in ("all", "any"):
        return tl.int32
    if dtype is float64:
        return tl.float64
    if dtype in U.FLOATS:
        return tl.float32
    if op == "mean":
        return tl.float64
    return tl.int64 if op in ("sum", "prod") else (tl.int32 if dtype is bool_ else _int_tl(dtype))


def _int_tl(dtype):
    return getattr(tl, dtype.name)


def _ident(op, acc, dtype):
    if op in ("sum", "mean", "any"):
        return 0
    if op in ("prod", "all"):
        return 1
    if acc.is_floating():
        return float("-inf") if op == "amax" else float("inf")
    info = np.iinfo(np.int8 if dtype is bool_ else dtype.np)
    return int(info.min) if op == "amax" else int(info.max)


def _out_dtype(op, dtype):
    if op in ("all", "any"):
        return bool_
    if op in ("sum", "prod") and dtype not in U.FLOATS:
        return int64
    if op == "mean" and dtype not in U.FLOATS:
        return float64
    return dtype


def _tmp_dtype(acc):
    return {tl.float32: float32, tl.float64: float64, tl.int64: int64}.get(acc)


def _out_shape(shape, dims, keepdim):
    return tuple(1 if d in dims else s for d, s in enumerate(shape)) if keepdim else \
        tuple(s for d, s in enumerate(shape) if d not in dims)


def reduce(op, a, dims, keepdim, _split=None):
    """op over `dims` of a (a tuple, () means all dims); keepdim keeps them as size 1."""
    dims = dims if dims is None or isinstance(dims, int) else tuple(dims)
    out_shape, out_dtype, perm, tmp, stages = _reduce_plan(op, a.shape, a.strides, a.dtype, dims, keepdim, _split)
    out = U.empty(out_shape, out_dtype)
    if not isinstance(stages, list):
        return out if stages is None else E.fill_(out, stages)
    x = a if perm is None else E.contiguous(a.permute(perm))
    if tmp is not None:  # two stages: partials tmp[s, m] in the accumulation dtype, then across s
        tmp = U.empty(*tmp)
        (grid1, args1, meta1), (grid2, args2, meta2) = stages
        fast(reduce_kernel)[grid1](x, tmp, *args1, **meta1)
        fast(reduce_kernel)[grid2](tmp, out, *args2, **meta2)
    else:
        ((grid, args, meta),) = stages
        fast(reduce_kernel)[grid](x, out, *args, **meta)
    return out


@functools.lru_cache(maxsize=4096)
def _reduce_plan(op, shape, strides, dtype, dims, keepdim, force_split):
    """(out shape, out dtype, perm, tmp (shape, dtype) or None, launches) of a reduction, per layout.

    `launches` is a list of (grid, args, meta), or the value to fill an empty reduction with, or None.
    """
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduction {op!r}")
    dims = _normalize_dims(dims, len(shape))
    out_shape, out_dtype = _out_shape(shape, dims, keepdim), _out_dtype(op, dtype)
    if U.numel(out_shape) == 0:
        return out_shape, out_dtype, None, None, None
    if U.numel([shape[d] for d in dims]) == 0:
        if op in ("amax", "amin"):
            raise ValueError(f"zero-size array to reduction operation {op} which has no identity")
        return out_shape, out_dtype, None, None, {"sum": 0, "prod": 1, "mean": float("nan"), "all": True,
                                                  "any": False}[op]
    M, R, sm, sr, perm = _as_2d(shape, strides, dims)
    acc = _acc_dtype(op, dtype)
    bm, br, split, warps = _tiles(M, R, sm, sr)
    split = force_split or split
    if split > 1:
        chunk = U.cdiv(U.cdiv(R, split), br) * br
        split = U.cdiv(R, chunk)
    if split == 1:
        meta = dict(OP=op, ACC=acc, IDENT=_ident(op, acc, dtype), **_blocks(bm, br, warps))
        return out_shape, out_dtype, perm, None, [((U.cdiv(M, bm), 1), (M, R, sm, sr, R, float(R)), meta)]
    op1 = "sum" if op == "mean" else op
    tmp_dtype = _tmp_dtype(acc) or (bool_ if op in ("all", "any") else dtype)
    meta1 = dict(OP=op1, ACC=acc, IDENT=_ident(op1, acc, dtype), **_blocks(bm, br, warps))
    bm2, br2, _, warps2 = _tiles(M, split, 1, M)
    acc2 = acc if op not in ("all", "any") else tl.int32
    meta2 = dict(OP=op, ACC=acc2, IDENT=_ident(op, acc2, tmp_dtype), **_blocks(bm2, br2, warps2))
    return out_shape, out_dtype, perm, ((split, M), tmp_dtype), [
        ((U.cdiv(M, bm), split), (M, R, sm, sr, chunk, 1.0), meta1),
        ((U.cdiv(M, bm2), 1), (M, split, 1, M, split, float(R)), meta2)]


def arg_reduce(op, a, dim, keepdim, _split=None):
    """argmax / argmin along `dim` (None: over the flattened array), int64."""
    if op not in ("argmax", "argmin"):
        raise ValueError(f"unknown arg reduction {op!r}")
    if dim is None:
        flat = E.contiguous(a)
        flat = U.DeviceArray(flat.buf, flat.offset, (U.numel(a.shape),), (1,), a.dtype)
        out = arg_reduce(op, flat, 0, False, _split)
        return out if not keepdim else out.view((1,) * a.ndim)
    dims = _normalize_dims((dim,), a.ndim)  # NOTE: () for a 0-d input: dim 0 / -1 reduce nothing
    out = U.empty(_out_shape(a.shape, dims, keepdim), int64)
    M = U.numel(out.shape)
    R = U.numel([a.shape[d] for d in dims])
    if R == 0:
        raise ValueError(f"attempt to get {op} of an empty sequence")
    if M == 0:
        return out
    M, R, sm, sr, perm = _as_2d(a.shape, a.strides, dims)
    x = a if perm is None else E.contiguous(a.permute(perm))
    acc = tl.float64 if a.dtype is float64 else tl.float32 if a.dtype in U.FLOATS else \
        tl.int32 if a.dtype is bool_ else _int_tl(a.dtype)
    ident = _ident("amax" if op == "argmax" else "amin", acc, a.dtype)
    bm, br, split, warps = _tiles(M, R, sm, sr)
    split = _split or split
    is_max = op == "argmax"
    if split == 1:
        fast(arg_reduce_kernel)[(U.cdiv(M, bm), 1)](x, x, U.empty((M,), a.dtype), out, M, R, sm, sr, R,
                                                     IS_MAX=is_max, HAS_IDX=False, ACC=acc, IDENT=ident,
                                                     **_blocks(bm, br, warps))
        return out
    chunk = U.cdiv(U.cdiv(R, split), br) * br
    split = U.cdiv(R, chunk)
    vals, idx = U.empty((split, M), a.dtype), U.empty((split, M), int64)
    fast(arg_reduce_kernel)[(U.cdiv(M, bm), split)](x, x, vals, idx, M, R, sm, sr, chunk, IS_MAX=is_max,
                                                     HAS_IDX=False, ACC=acc, IDENT=ident, **_blocks(bm, br, warps))
    bm2, br2, _, warps2 = _tiles(M, split, 1, M)
    fast(arg_reduce_kernel)[(U.cdiv(M, bm2), 1)](vals, idx, U.empty((M,), a.dtype), out, M, split, 1, M, split,
                                                  IS_MAX=is_max, HAS_IDX=True, ACC=acc, IDENT=ident,
                                                  **_blocks(bm2, br2, warps2))
    return out
