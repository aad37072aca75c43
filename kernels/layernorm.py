"""Fused LayerNorm forward and backward (after Triton's tutorial 05-layer-norm.py).

The input is viewed as M rows of N = prod(normalized_shape) contiguous elements. Per row:

    forward:   mean = sum(x) / N,  rstd = 1 / sqrt(sum((x - mean)^2) / N + eps),
               y = (x - mean) * rstd * w + b                       (mean, rstd saved)
    backward:  xhat = (x - mean) * rstd,  g = dy * w,
               dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
               dw = sum over rows of dy * xhat,  db = sum over rows of dy

NOTE: statistics and all arithmetic in fp32 for fp16 / bf16 / fp32 inputs (fp64 for fp64).
dw and db are column sums over all M rows: each backward program sums its own slice of rows into
one row of a (G, N) fp32 buffer of partial sums, and a second kernel adds the G rows up. Unlike the
tutorial's lock-and-accumulate scheme this needs no atomics or locks, and the result is
deterministic (the same summation order on every run).

A row of up to MAX_SINGLE elements is held in registers whole (one read of x, one write of y);
longer rows are walked in chunks (the forward reads x three times, the backward twice).
"""
import triton
import triton.language as tl

from .._dtype import float32, float64
from .._nn_checks import check_layer_norm
from . import _utils as U, elementwise as E
from ._launch import fast

MAX_SINGLE = 16384  # NOTE: elements of a row kept in registers (tests lower it to cover the loop)
# NOTE: backward programs on a GPU (about two per SM of an H100), each owning a slice of rows: more
# programs keep more loads in flight, fewer make the (G, N) partial sums cheaper to add up. A guess,
# not yet measured on a GPU.
MAX_PROGRAMS = 256


@triton.jit
def _rows(r0, BLOCK_M: tl.constexpr, end):
    rows = r0 + tl.arange(0, BLOCK_M).to(tl.int64)  # NOTE: int64 offsets: M * N may pass 2**31
    return rows, rows < end


@triton.jit(do_not_specialize=["M", "eps"])
def layer_norm_fwd_kernel(x_ptr, w_ptr, b_ptr, y_ptr, mean_ptr, rstd_ptr, M, N, eps: tl.float64,
                          HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr, SINGLE: tl.constexpr,
                          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """y, mean, rstd of BLOCK_M rows of N elements (x, y contiguous; w, b of N elements)."""
    rows, row_ok = _rows(tl.program_id(0).to(tl.int64) * BLOCK_M, BLOCK_M, M)
    base = rows[:, None] * N
    cols = tl.arange(0, BLOCK_N)
    eps = tl.full((), eps, tl.float64).to(ACC)  # NOTE: the interpreter passes a Python float
    if SINGLE:
        mask = row_ok[:, None] & (cols < N)[None, :]
        x = tl.load(x_ptr + base + cols[None, :], mask=mask, other=0.0).to(ACC)
        mean = tl.sum(x, 1) / N
        xc = tl.where(mask, x - mean[:, None], 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(xc * xc, 1) / N + eps)
        y = xc * rstd[:, None]
        if HAS_W:
            y = y * tl.load(w_ptr + cols, mask=cols < N).to(ACC)[None, :]
        if HAS_B:
            y = y + tl.load(b_ptr + cols, mask=cols < N).to(ACC)[None, :]
        tl.store(y_ptr + base + cols[None, :], y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        # NOTE: the mean first, then the squared deviations from it (not E[x^2] - mean^2, which cancels)
        acc = tl.zeros([BLOCK_M, BLOCK_N], ACC)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            acc += tl.load(x_ptr + base + c[None, :], mask=row_ok[:, None] & (c < N)[None, :], other=0.0).to(ACC)
        mean = tl.sum(acc, 1) / N
        acc = tl.zeros([BLOCK_M, BLOCK_N], ACC)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            mask = row_ok[:, None] & (c < N)[None, :]
            x = tl.load(x_ptr + base + c[None, :], mask=mask, other=0.0).to(ACC)
            xc = tl.where(mask, x - mean[:, None], 0.0)
            acc += xc * xc
        rstd = 1.0 / tl.sqrt(tl.sum(acc, 1) / N + eps)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            mask = row_ok[:, None] & (c < N)[None, :]
            x = tl.load(x_ptr + base + c[None, :], mask=mask, other=0.0).to(ACC)
            y = (x - mean[:, None]) * rstd[:, None]
            if HAS_W:
                y = y * tl.load(w_ptr + c, mask=c < N).to(ACC)[None, :]
            if HAS_B:
                y = y + tl.load(b_ptr + c, mask=c < N).to(ACC)[None, :]
            tl.store(y_ptr + base + c[None, :], y.to(y_ptr.dtype.element_ty), mask=mask)
    tl.store(mean_ptr + rows, mean.to(mean_ptr.dtype.element_ty), mask=row_ok)
    tl.store(rstd_ptr + rows, rstd.to(rstd_ptr.dtype.element_ty), mask=row_ok)


@triton.jit(do_not_specialize=["M", "ROWS"])
def layer_norm_bwd_kernel(dy_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, dw_part_ptr, db_part_ptr, M, N, ROWS,
                          HAS_W: tl.constexpr, HAS_B: tl.constexpr, ACC: tl.constexpr, SINGLE: tl.constexpr,
                          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dx of rows [pid * ROWS, (pid + 1) * ROWS), and their column sums of dy * xhat and dy written to
    row pid of the (G, N) partial-sum buffers (which the loop variant expects zeroed)."""
    pid = tl.program_id(0)
    start = pid.to(tl.int64) * ROWS
    end = tl.minimum(start + ROWS, M)
    cols = tl.arange(0, BLOCK_N)
    part = pid.to(tl.int64) * N
    if SINGLE:
        col_ok = cols < N
        if HAS_W:
            w = tl.load(w_ptr + cols, mask=col_ok, other=0.0).to(ACC)
        dw = tl.zeros([BLOCK_N], ACC)
        db = tl.zeros([BLOCK_N], ACC)
        for r0 in range(start, end, BLOCK_M):
            rows, row_ok = _rows(r0, BLOCK_M, end)
            mask = row_ok[:, None] & col_ok[None, :]
            offs = rows[:, None] * N + cols[None, :]
            x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
            dy = tl.load(dy_ptr + offs, mask=mask, other=0.0).to(ACC)
            mean = tl.load(mean_ptr + rows, mask=row_ok, other=0.0).to(ACC)
            rstd = tl.load(rstd_ptr + rows, mask=row_ok, other=0.0).to(ACC)
            xhat = tl.where(mask, (x - mean[:, None]) * rstd[:, None], 0.0)
            g = dy
            if HAS_W:
                g = g * w[None, :]
            c1 = tl.sum(xhat * g, 1) / N
            c2 = tl.sum(g, 1) / N
            dx = (g - (xhat * c1[:, None] + c2[:, None])) * rstd[:, None]
            tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
            if HAS_W:
                dw += tl.sum(dy * xhat, 0)
            if HAS_B:
                db += tl.sum(dy, 0)
        if HAS_W:
            tl.store(dw_part_ptr + part + cols, dw, mask=col_ok)
        if HAS_B:
            tl.store(db_part_ptr + part + cols, db, mask=col_ok)
    else:
        # NOTE: one row at a time (BLOCK_M == 1): a pass for the two row sums, a pass for dx
        for r in range(start, end):
            mean = tl.load(mean_ptr + r).to(ACC)
            rstd = tl.load(rstd_ptr + r).to(ACC)
            s1 = tl.zeros([BLOCK_N], ACC)
            s2 = tl.zeros([BLOCK_N], ACC)
            for c0 in range(0, N, BLOCK_N):
                c = c0 + cols
                x = tl.load(x_ptr + r * N + c, mask=c < N, other=0.0).to(ACC)
                g = tl.load(dy_ptr + r * N + c, mask=c < N, other=0.0).to(ACC)
                if HAS_W:
                    g = g * tl.load(w_ptr + c, mask=c < N, other=0.0).to(ACC)
                s1 += tl.where(c < N, (x - mean) * rstd, 0.0) * g
                s2 += g
            c1 = tl.sum(s1, 0) / N
            c2 = tl.sum(s2, 0) / N
            for c0 in range(0, N, BLOCK_N):
                c = c0 + cols
                x = tl.load(x_ptr + r * N + c, mask=c < N, other=0.0).to(ACC)
                dy = tl.load(dy_ptr + r * N + c, mask=c < N, other=0.0).to(ACC)
                xhat = (x - mean) * rstd
                g = dy
                if HAS_W:
                    g = g * tl.load(w_ptr + c, mask=c < N, other=0.0).to(ACC)
                tl.store(dx_ptr + r * N + c, ((g - (xhat * c1 + c2)) * rstd).to(dx_ptr.dtype.element_ty), mask=c < N)
                # NOTE: row pid of the partial sums belongs to this program alone: no race
                if HAS_W:
                    p = dw_part_ptr + part + c
                    tl.store(p, tl.load(p, mask=c < N, other=0.0) + dy * xhat, mask=c < N)
                if HAS_B:
                    p = db_part_ptr + part + c
                    tl.store(p, tl.load(p, mask=c < N, other=0.0) + dy, mask=c < N)


@triton.jit
def column_sum_kernel(part_ptr, out_ptr, G, N, BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr):
    """out[c] = sum over g < G of part[g, c] (the second pass of dw / db), cast to out's dtype."""
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_G, BLOCK_N], part_ptr.dtype.element_ty)
    for g0 in range(0, G, BLOCK_G):
        g = g0 + tl.arange(0, BLOCK_G)
        acc += tl.load(part_ptr + g[:, None].to(tl.int64) * N + cols[None, :],
                       mask=(g < G)[:, None] & (cols < N)[None, :], other=0.0)
    tl.store(out_ptr + cols, tl.sum(acc, 0).to(out_ptr.dtype.element_ty), mask=cols < N)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _acc(dtype):
    return (tl.float64, float64) if dtype is float64 else (tl.float32, float32)


def _blocks(M, N):
    """(SINGLE, BLOCK_M, BLOCK_N, num_warps)."""
    if N <= MAX_SINGLE:
        block_n = triton.next_power_of_2(N)
        budget = 1 << 15 if U.INTERPRET else 4096  # NOTE: the interpreter pays per program: big tiles
        block_m = max(1, min(triton.next_power_of_2(M), budget // block_n))
        warps = 4 if block_n * block_m <= 4096 else 8 if block_n * block_m <= 8192 else 16
        return True, block_m, block_n, warps
    return False, 1, min(triton.next_power_of_2(MAX_SINGLE), 1 << 15 if U.INTERPRET else 4096), 8


def _check_float(what, a):
    if a.dtype not in U.FLOATS:
        raise TypeError(f"layer_norm: {what} must be floating point, got {a.dtype.name}")


def layer_norm_fwd(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """LayerNorm over the trailing `normalized_shape` dims of DeviceArray `x` (any layout).

    Returns (y, mean, rstd): y a new contiguous array like x; mean and rstd of shape
    x.shape[:-len(normalized_shape)], float32 (float64 for float64 x). weight / bias (optional,
    shape normalized_shape) may have any dtype; they are read in the compute type.
    """
    M, N = check_layer_norm(x.shape, normalized_shape, getattr(weight, "shape", None), getattr(bias, "shape", None))
    _check_float("input", x)
    acc, stat = _acc(x.dtype)
    x = E.contiguous(x)
    w = E.contiguous(weight) if weight is not None else None
    b = E.contiguous(bias) if bias is not None else None
    y = U.empty(x.shape, x.dtype)
    lead = tuple(x.shape[:x.ndim - len(normalized_shape)])
    mean, rstd = U.empty(lead, stat), U.empty(lead, stat)
    if M and N:
        single, bm, bn, warps = _blocks(M, N)
        fast(layer_norm_fwd_kernel)[(U.cdiv(M, bm),)](
            x, w, b, y, mean, rstd, M, N, float(eps), HAS_W=w is not None, HAS_B=b is not None, ACC=acc,
            SINGLE=single, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps)
    return y, mean, rstd


def layer_norm_bwd(dy, x, mean, rstd, weight=None, bias=None):
    """Gradients (dx, dweight, dbias) of layer_norm_fwd, from the upstream dy (x's shape, any layout).

    The normalized dims are x's dims after mean.ndim. dweight / dbias (weight's / bias's dtype and
    shape) are None when weight / bias is None; bias is read for its shape and dtype only.
    Three launches with weight or bias (dx and partial sums; one column sum for each), one without.
    """
    if tuple(dy.shape) != tuple(x.shape) or dy.dtype is not x.dtype:
        raise ValueError(f"layer_norm_bwd: dy {dy.shape} {dy.dtype.name} and x {x.shape} {x.dtype.name} differ")
    normalized_shape = tuple(x.shape[mean.ndim:])
    M, N = check_layer_norm(x.shape, normalized_shape, getattr(weight, "shape", None), getattr(bias, "shape", None))
    _check_float("input", x)
    acc, stat = _acc(x.dtype)
    dy, x, mean, rstd = E.contiguous(dy), E.contiguous(x), E.contiguous(mean), E.contiguous(rstd)
    w = E.contiguous(weight) if weight is not None else None
    dx = U.empty(x.shape, x.dtype)
    dw = U.empty(weight.shape, weight.dtype) if weight is not None else None
    db = U.empty(bias.shape, bias.dtype) if bias is not None else None
    if not M or not N:
        for a in (dw, db):
            if a is not None:
                E.fill_(a, 0)
        return dx, dw, db
    single, bm, bn, warps = _blocks(M, N)
    G = min(U.cdiv(M, bm), 2 if U.INTERPRET else MAX_PROGRAMS)
    rows = U.cdiv(U.cdiv(M, G), bm) * bm  # NOTE: whole tiles of BLOCK_M rows per program
    G = U.cdiv(M, rows)
    dw_part = U.empty((G, N), stat) if dw is not None else None
    db_part = U.empty((G, N), stat) if db is not None else None
    if not single:  # NOTE: the loop variant adds into its row of the partial sums
        for p in (dw_part, db_part):
            if p is not None:
                E.fill_(p, 0)
    fast(layer_norm_bwd_kernel)[(G,)](
        dy, x, w, mean, rstd, dx, dw_part, db_part, M, N, rows, HAS_W=dw is not None, HAS_B=db is not None,
        ACC=acc, SINGLE=single, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps)
    for part, out in ((dw_part, dw), (db_part, db)):
        if out is not None:
            block_n = min(triton.next_power_of_2(N), 1024 if U.INTERPRET else 32)  # NOTE: N / 32 programs
            block_g = min(triton.next_power_of_2(G), 64)
            fast(column_sum_kernel)[(U.cdiv(N, block_n),)](part, out, G, N, BLOCK_G=block_g, BLOCK_N=block_n,
                                                            num_warps=4)
    return dx, dw, db
