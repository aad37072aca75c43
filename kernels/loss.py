"""Row-wise softmax and log-softmax, forward and backward (CrossEntropyLoss's fused kernels).

The reduced dim `dim` of a contiguous array of shape (outer, N, inner) is a row: row r = (o, i)
starts at o * N * inner + i and its elements are `inner` apart. A program handles BLOCK_M rows.
When a row fits in one block (N <= BLOCK_N) each row is read once and written once; longer rows
are walked in BLOCK_N chunks with an online max / sum (one read pass, then a read-and-write pass).

    log_softmax:  y = x - max(x) - log(sum(exp(x - max(x))))     dx = g - exp(y) * sum(g)
    softmax:      y = exp(x - max(x)) / sum(exp(x - max(x)))     dx = y * (g - sum(g * y))

NOTE: subtracting the row max first means exp never overflows (numerically stable); math in
fp32 for fp16 / bf16 / fp32 and fp64 for float64. A row of all -inf gives NaN, as in PyTorch.
"""
import triton
import triton.language as tl

from .._dtype import float64
from . import _utils as U, elementwise as E
from ._launch import fast

NEG_INF = tl.constexpr(float("-inf"))

# NOTE: rows up to this long are held in registers whole; longer ones loop (tests lower it).
MAX_SINGLE = 4096


@triton.jit
def _row_offsets(BLOCK_M: tl.constexpr, M, N, INNER):
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)  # NOTE: int64 offsets
    base = (rows // INNER) * N * INNER + rows % INNER
    return rows < M, base


@triton.jit
def _load_x(x_ptr, offs, row_ok, col_ok, ACC: tl.constexpr):
    # NOTE: rows past M read 0, not -inf, so that they compute no NaN (the interpreter would warn)
    x = tl.load(x_ptr + offs, mask=row_ok[:, None] & col_ok[None, :], other=0.0).to(ACC)
    return tl.where(col_ok[None, :], x, NEG_INF)


@triton.jit(do_not_specialize=["M"])  # NOTE: INNER == 1 specialized: unit-stride rows
def softmax_fwd_kernel(x_ptr, y_ptr, M, N, INNER, LOG: tl.constexpr, ACC: tl.constexpr, SINGLE: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """y = (log_)softmax(x) along rows of N elements `INNER` apart; M rows (see the module docstring)."""
    row_ok, base = _row_offsets(BLOCK_M, M, N, INNER)
    cols = tl.arange(0, BLOCK_N)
    if SINGLE:
        mask = row_ok[:, None] & (cols < N)[None, :]
        offs = base[:, None] + cols[None, :] * INNER
        x = _load_x(x_ptr, offs, row_ok, cols < N, ACC)
        z = x - tl.max(x, 1)[:, None]
        e = tl.exp(z)  # NOTE: 0 on padding columns (z = -inf there)
        s = tl.sum(e, 1)
        if LOG:
            y = z - tl.log(s)[:, None]
        else:
            y = e / s[:, None]
        tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        m = tl.full([BLOCK_M], NEG_INF, ACC)
        s = tl.zeros([BLOCK_M], ACC)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            x = _load_x(x_ptr, base[:, None] + c[None, :] * INNER, row_ok, c < N, ACC)
            m_new = tl.maximum(m, tl.max(x, 1))
            # NOTE: while a row has seen only -inf, subtract 0, not -inf: s stays 0 instead of NaN
            m_safe = tl.where(m_new == NEG_INF, 0.0, m_new)
            alpha = tl.exp(m - m_safe)
            e = tl.exp(x - m_safe[:, None])
            s = s * alpha + tl.sum(e, 1)
            m = m_new
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            mask = row_ok[:, None] & (c < N)[None, :]
            offs = base[:, None] + c[None, :] * INNER
            x = _load_x(x_ptr, offs, row_ok, c < N, ACC)
            z = x - m[:, None]
            if LOG:
                y = z - tl.log(s)[:, None]
            else:
                y = tl.exp(z) / s[:, None]
            tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=["M"])  # NOTE: INNER == 1 specialized: unit-stride rows
def softmax_bwd_kernel(g_ptr, y_ptr, dx_ptr, M, N, INNER, LOG: tl.constexpr, ACC: tl.constexpr,
                       SINGLE: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dx from the upstream gradient g and the forward's output y (same layout as the forward)."""
    row_ok, base = _row_offsets(BLOCK_M, M, N, INNER)
    cols = tl.arange(0, BLOCK_N)
    if SINGLE:
        mask = row_ok[:, None] & (cols < N)[None, :]
        offs = base[:, None] + cols[None, :] * INNER
        g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
        y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(ACC)
        if LOG:
            dx = g - tl.exp(y) * tl.sum(g, 1)[:, None]
        else:
            dx = y * (g - tl.sum(g * y, 1)[:, None])
        tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
    else:
        s = tl.zeros([BLOCK_M], ACC)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            mask = row_ok[:, None] & (c < N)[None, :]
            offs = base[:, None] + c[None, :] * INNER
            g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
            if LOG:
                s += tl.sum(g, 1)
            else:
                s += tl.sum(g * tl.load(y_ptr + offs, mask=mask, other=0.0).to(ACC), 1)
        for c0 in range(0, N, BLOCK_N):
            c = c0 + cols
            mask = row_ok[:, None] & (c < N)[None, :]
            offs = base[:, None] + c[None, :] * INNER
            g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
            y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(ACC)
            if LOG:
                dx = g - tl.exp(y) * s[:, None]
            else:
                dx = y * (g - s[:, None])
            tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _layout(shape, dim):
    """(M rows, N per row, INNER stride) of a contiguous array of `shape` reduced along `dim`."""
    n = shape[dim] if shape else 1
    inner = U.numel(shape[dim + 1:]) if shape else 1
    return U.numel(shape) // max(n, 1), n, inner


def _blocks(M, N):
    """(SINGLE, BLOCK_M, BLOCK_N): whole rows in registers when short, else chunks of one row."""
    budget = 1 << 15 if U.INTERPRET else 4096  # NOTE: the interpreter pays per program: big tiles
    if N <= MAX_SINGLE:
        block_n = triton.next_power_of_2(max(N, 1))
        block_m = max(1, min(triton.next_power_of_2(max(M, 1)), budget // block_n))
        return True, block_m, block_n
    return False, 1, min(triton.next_power_of_2(MAX_SINGLE), 1024 if not U.INTERPRET else budget)


def _check(x, dim):
    if x.dtype not in U.FLOATS:
        raise TypeError(f"softmax needs a floating-point array, got {x.dtype.name}")
    if not (x.ndim == 0 and dim in (0, -1)) and not 0 <= dim < x.ndim:
        raise ValueError(f"dim {dim} out of range for an array of {x.ndim} dims")


def softmax_fwd(x, dim, log):
    """(log_)softmax of DeviceArray `x` along `dim` (non-negative); a new contiguous array."""
    _check(x, dim)
    x = E.contiguous(x)
    y = U.empty(x.shape, x.dtype)
    M, N, inner = _layout(x.shape, dim)
    if M and N:
        single, bm, bn = _blocks(M, N)
        acc = tl.float64 if x.dtype is float64 else tl.float32
        fast(softmax_fwd_kernel)[(U.cdiv(M, bm),)](x, y, M, N, inner, LOG=log, ACC=acc, SINGLE=single, BLOCK_M=bm,
                                             BLOCK_N=bn, num_warps=4)
    return y


def softmax_bwd(g, y, dim, log):
    """The gradient of (log_)softmax along `dim` from upstream `g` and the forward's output `y`."""
    _check(y, dim)
    if tuple(g.shape) != tuple(y.shape) or g.dtype is not y.dtype:
        raise ValueError(f"softmax_bwd: g {g.shape} {g.dtype.name} and y {y.shape} {y.dtype.name} differ")
    g, y = E.contiguous(g), E.contiguous(y)
    dx = U.empty(y.shape, y.dtype)
    M, N, inner = _layout(y.shape, dim)
    if M and N:
        single, bm, bn = _blocks(M, N)
        acc = tl.float64 if y.dtype is float64 else tl.float32
        fast(softmax_bwd_kernel)[(U.cdiv(M, bm),)](g, y, dx, M, N, inner, LOG=log, ACC=acc, SINGLE=single, BLOCK_M=bm,
                                             BLOCK_N=bn, num_warps=4)
    return dx


def log_softmax_fwd(x, dim):
    return softmax_fwd(x, dim, True)


def log_softmax_bwd(g, y, dim):
    return softmax_bwd(g, y, dim, True)
