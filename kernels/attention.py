"""Flash attention, forward and backward (after Triton's tutorial 06-fused-attention.py, FlashAttention-2).

For q (B, H, T, D) and k, v (B, H, S, D), any strides, per (b, h):

    s = q k^T * scale  (+ additive mask, or -inf where a bool mask is False or causal j > i)
    o = softmax(s) v,  lse = logsumexp(s) per row         (saved for the backward)

Forward: a program takes BLOCK_M queries and walks the keys in blocks of BLOCK_N with an online
softmax (running max m, running sum l, output rescaled as m grows), so the (T, S) matrix of
scores never exists in memory. Causal: key blocks wholly above the diagonal are skipped, those
wholly below it run without the mask, only the blocks the diagonal crosses compare indices.

Backward, with p = exp(s - lse) recomputed from the saved lse and delta = rowsum(do * o):
    dv = p^T do,  dp = do v^T,  ds = p * (dp - delta),  dq = ds k * scale,  dk = ds^T q * scale
in three kernels: delta; dk and dv (a program per key block, looping over queries); dq (a program
per query block, looping over keys). Each output is written by one program: no atomics, and the
result is deterministic.

NOTE: the head dim D is a compile-time constant (one variant per head dim), so the masks on it
fold away when D is a power of two; T and S are not specialized (no recompiling per length).
exp2 with scores pre-multiplied by log2(e) (cheaper than exp on the GPU); all accumulation
in fp32 (fp64 for fp64 inputs); p and ds are cast to the inputs' type for the tensor-core dots,
as FlashAttention does. causal is PyTorch's is_causal: query i sees keys j <= i (top-left
aligned when T != S). A row with no key to attend gives o = 0 and lse = +inf (PyTorch's SDPA
gives 0 there too). Plain pointer arithmetic, no TMA or warp specialization: the same code runs on
any GPU Triton supports and under its interpreter.
"""
import math

import triton
import triton.language as tl

from .._dtype import bool_, float32, float64
from . import _utils as U, elementwise as E
from ._launch import fast

LOG2E = tl.constexpr(1.4426950408889634)
NEG_INF = tl.constexpr(float("-inf"))
POS_INF = tl.constexpr(float("inf"))
_NO_MASK, _BOOL_MASK, _ADD_MASK = 0, 1, 2
MAX_HEAD_DIM = 256
_INTERPRET = tl.constexpr(U.INTERPRET)


@triton.jit
def _dot(a, b, acc, ACC: tl.constexpr, PRECISION: tl.constexpr):
    """a @ b (+ acc) accumulated in ACC."""
    if _INTERPRET and a.dtype == tl.bfloat16:
        a, b = a.to(tl.float32), b.to(tl.float32)  # NOTE: the interpreter's dot misreads bf16 bits
    return tl.dot(a, b, acc, out_dtype=ACC, input_precision=PRECISION)


@triton.jit
def _scores(q, k, m_ptrs, offs_m, offs_n, T, S, qk_scale, DIAG: tl.constexpr, MASK: tl.constexpr,
            ACC: tl.constexpr, PRECISION: tl.constexpr):
    """Scores q k^T in log2 units [BLOCK_M, BLOCK_N], -inf where a key is not attended."""
    s = _dot(q, tl.trans(k), None, ACC, PRECISION) * qk_scale
    keep = (offs_n < S)[None, :]
    if DIAG:
        keep = keep & (offs_m[:, None] >= offs_n[None, :])
    if MASK == 1:
        inb = (offs_m < T)[:, None] & (offs_n < S)[None, :]
        keep = keep & (tl.load(m_ptrs, mask=inb, other=0) != 0)
    elif MASK == 2:
        inb = (offs_m < T)[:, None] & (offs_n < S)[None, :]
        s += tl.load(m_ptrs, mask=inb, other=0.0).to(ACC) * LOG2E
    return tl.where(keep, s, NEG_INF)


@triton.jit
def _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m, offs_d, T, S, D,
                qk_scale, lo, hi, DIAG: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr,
                PRECISION: tl.constexpr, BLOCK_N: tl.constexpr):
    """The online softmax over key blocks [lo, hi): returns the updated (acc, l, m)."""
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        kv_ok = (offs_n < S)[:, None] & (offs_d < D)[None, :]
        k = tl.load(k_base + offs_n[:, None] * skt + offs_d[None, :] * skd, mask=kv_ok, other=0.0)
        s = _scores(q, k, m_base + offs_m[:, None] * smt + offs_n[None, :] * sms, offs_m, offs_n, T, S, qk_scale,
                    DIAG, MASK, ACC, PRECISION)
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == NEG_INF, 0.0, m_new)  # NOTE: no key attended yet: exp2(-inf) = 0, no NaN
        alpha = tl.exp2(m_i - m_safe)
        p = tl.exp2(s - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + offs_n[:, None] * svt + offs_d[None, :] * svd, mask=kv_ok, other=0.0)
        acc = _dot(p.to(v.dtype), v, acc * alpha[:, None], ACC, PRECISION)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _causal_split(start_m, BLOCK_N: tl.constexpr):
    """The end of the key blocks wholly at or below the diagonal for the query block at start_m:
    every key j < end satisfies j <= start_m, so these blocks need no causal mask."""
    return ((start_m + 1) // BLOCK_N) * BLOCK_N


@triton.jit(do_not_specialize=["T", "S"])
def attention_fwd_kernel(q_ptr, k_ptr, v_ptr, m_ptr, o_ptr, lse_ptr,
                         sqb, sqh, sqt, sqd, skb, skh, skt, skd, svb, svh, svt, svd, smb, smh, smt, sms,
                         sob, soh, sot, sod, H, T, S, D: tl.constexpr, qk_scale: tl.float64,
                         CAUSAL: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr, PRECISION: tl.constexpr,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """o and lse (natural log, (B, H, T) contiguous) for BLOCK_M queries of one (b, h)."""
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    b, h = (bh // H).to(tl.int64), (bh % H).to(tl.int64)  # NOTE: int64: b * stride may pass 2**31
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q_ok = (offs_m < T)[:, None] & (offs_d < D)[None, :]
    q = tl.load(q_ptr + b * sqb + h * sqh + offs_m[:, None] * sqt + offs_d[None, :] * sqd, mask=q_ok, other=0.0)
    k_base, v_base = k_ptr + b * skb + h * skh, v_ptr + b * svb + h * svh
    m_base = m_ptr + b * smb + h * smh
    qk_scale = tl.full((), qk_scale, tl.float64).to(ACC) * LOG2E  # NOTE: the interpreter passes a Python float
    m_i = tl.full([BLOCK_M], NEG_INF, ACC)
    l_i = tl.zeros([BLOCK_M], ACC)
    acc = tl.zeros([BLOCK_M, BLOCK_D], ACC)
    if CAUSAL:
        mid = tl.minimum(_causal_split(start_m, BLOCK_N), S)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m,
                                    offs_d, T, S, D, qk_scale, 0, mid, False, MASK, ACC, PRECISION, BLOCK_N)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m,
                                    offs_d, T, S, D, qk_scale, mid, tl.minimum(start_m + BLOCK_M, S), True, MASK,
                                    ACC, PRECISION, BLOCK_N)
    else:
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m,
                                    offs_d, T, S, D, qk_scale, 0, S, False, MASK, ACC, PRECISION, BLOCK_N)
    l_safe = tl.where(l_i == 0.0, 1.0, l_i)
    o = acc / l_safe[:, None]
    tl.store(o_ptr + b * sob + h * soh + offs_m[:, None] * sot + offs_d[None, :] * sod,
             o.to(o_ptr.dtype.element_ty), mask=q_ok)
    lse = tl.where(l_i == 0.0, POS_INF, (m_i + tl.log2(l_safe)) / LOG2E)
    tl.store(lse_ptr + bh.to(tl.int64) * T + offs_m, lse.to(lse_ptr.dtype.element_ty), mask=offs_m < T)


@triton.jit(do_not_specialize=["T"])
def attention_bwd_delta_kernel(o_ptr, do_ptr, delta_ptr, sob, soh, sot, sod, sdb, sdh, sdt, sdd, H, T, D: tl.constexpr,
                               ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """delta = rowsum(do * o), (B, H, T) contiguous in the accumulation type."""
    bh = tl.program_id(1)
    b, h = (bh // H).to(tl.int64), (bh % H).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    ok = (offs_m < T)[:, None] & (offs_d < D)[None, :]
    o = tl.load(o_ptr + b * sob + h * soh + offs_m[:, None] * sot + offs_d[None, :] * sod, mask=ok, other=0.0)
    do = tl.load(do_ptr + b * sdb + h * sdh + offs_m[:, None] * sdt + offs_d[None, :] * sdd, mask=ok, other=0.0)
    tl.store(delta_ptr + bh.to(tl.int64) * T + offs_m, tl.sum(o.to(ACC) * do.to(ACC), 1), mask=offs_m < T)


@triton.jit
def _dkdv_blocks(dk, dv, k, v, q_base, do_base, m_base, lse_base, delta_base, sqt, sqd, sdt, sdd, smt, sms, offs_n,
                 offs_d, T, S, D, qk_scale, lo, hi, DIAG: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr,
                 PRECISION: tl.constexpr, BLOCK_M: tl.constexpr):
    """dk, dv of one key block, summed over the query blocks [lo, hi)."""
    for start_m in range(lo, hi, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        q_ok = (offs_m < T)[:, None] & (offs_d < D)[None, :]
        q = tl.load(q_base + offs_m[:, None] * sqt + offs_d[None, :] * sqd, mask=q_ok, other=0.0)
        do = tl.load(do_base + offs_m[:, None] * sdt + offs_d[None, :] * sdd, mask=q_ok, other=0.0)
        # NOTE: rows past T read lse = +inf: p = 0 there
        lse = tl.load(lse_base + offs_m, mask=offs_m < T, other=POS_INF).to(ACC) * LOG2E
        delta = tl.load(delta_base + offs_m, mask=offs_m < T, other=0.0)
        s = _scores(q, k, m_base + offs_m[:, None] * smt + offs_n[None, :] * sms, offs_m, offs_n, T, S, qk_scale,
                    DIAG, MASK, ACC, PRECISION)
        p = tl.exp2(s - lse[:, None])
        dv = _dot(tl.trans(p.to(do.dtype)), do, dv, ACC, PRECISION)
        dp = _dot(do, tl.trans(v), None, ACC, PRECISION)
        ds = p * (dp - delta[:, None])
        dk = _dot(tl.trans(ds.to(q.dtype)), q, dk, ACC, PRECISION)
    return dk, dv


@triton.jit(do_not_specialize=["T", "S"])
def attention_bwd_dkdv_kernel(q_ptr, k_ptr, v_ptr, m_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
                              sqb, sqh, sqt, sqd, skb, skh, skt, skd, svb, svh, svt, svd, smb, smh, smt, sms,
                              sdb, sdh, sdt, sdd, H, T, S, D: tl.constexpr, scale: tl.float64,
                              CAUSAL: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr,
                              PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                              BLOCK_D: tl.constexpr):
    """dk, dv ((B, H, S, D) contiguous) for BLOCK_N keys of one (b, h)."""
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1)
    b, h = (bh // H).to(tl.int64), (bh % H).to(tl.int64)
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    kv_ok = (offs_n < S)[:, None] & (offs_d < D)[None, :]
    k = tl.load(k_ptr + b * skb + h * skh + offs_n[:, None] * skt + offs_d[None, :] * skd, mask=kv_ok, other=0.0)
    v = tl.load(v_ptr + b * svb + h * svh + offs_n[:, None] * svt + offs_d[None, :] * svd, mask=kv_ok, other=0.0)
    q_base, do_base = q_ptr + b * sqb + h * sqh, do_ptr + b * sdb + h * sdh
    m_base = m_ptr + b * smb + h * smh
    lse_base, delta_base = lse_ptr + bh.to(tl.int64) * T, delta_ptr + bh.to(tl.int64) * T
    scale = tl.full((), scale, tl.float64).to(ACC)
    qk_scale = scale * LOG2E
    dk = tl.zeros([BLOCK_N, BLOCK_D], ACC)
    dv = tl.zeros([BLOCK_N, BLOCK_D], ACC)
    if CAUSAL:
        # query blocks before the one holding query start_n see none of these keys; from the first
        # block whose queries are all >= the last key on, no mask is needed
        lo = (start_n // BLOCK_M) * BLOCK_M
        mid = tl.minimum(((start_n + BLOCK_N - 1 + BLOCK_M - 1) // BLOCK_M) * BLOCK_M, T)
        dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, m_base, lse_base, delta_base, sqt, sqd, sdt, sdd, smt,
                              sms, offs_n, offs_d, T, S, D, qk_scale, lo, mid, True, MASK, ACC, PRECISION, BLOCK_M)
        dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, m_base, lse_base, delta_base, sqt, sqd, sdt, sdd, smt,
                              sms, offs_n, offs_d, T, S, D, qk_scale, mid, T, False, MASK, ACC, PRECISION, BLOCK_M)
    else:
        dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, m_base, lse_base, delta_base, sqt, sqd, sdt, sdd, smt,
                              sms, offs_n, offs_d, T, S, D, qk_scale, 0, T, False, MASK, ACC, PRECISION, BLOCK_M)
    out = bh.to(tl.int64) * S * D + offs_n[:, None] * D + offs_d[None, :]
    tl.store(dk_ptr + out, (dk * scale).to(dk_ptr.dtype.element_ty), mask=kv_ok)
    tl.store(dv_ptr + out, dv.to(dv_ptr.dtype.element_ty), mask=kv_ok)


@triton.jit
def _dq_blocks(dq, q, do, lse, delta, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m, offs_d, T, S, D,
               qk_scale, lo, hi, DIAG: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr, PRECISION: tl.constexpr,
               BLOCK_N: tl.constexpr):
    """dq of one query block, summed over the key blocks [lo, hi)."""
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        kv_ok = (offs_n < S)[:, None] & (offs_d < D)[None, :]
        k = tl.load(k_base + offs_n[:, None] * skt + offs_d[None, :] * skd, mask=kv_ok, other=0.0)
        v = tl.load(v_base + offs_n[:, None] * svt + offs_d[None, :] * svd, mask=kv_ok, other=0.0)
        s = _scores(q, k, m_base + offs_m[:, None] * smt + offs_n[None, :] * sms, offs_m, offs_n, T, S, qk_scale,
                    DIAG, MASK, ACC, PRECISION)
        p = tl.exp2(s - lse[:, None])
        dp = _dot(do, tl.trans(v), None, ACC, PRECISION)
        ds = p * (dp - delta[:, None])
        dq = _dot(ds.to(k.dtype), k, dq, ACC, PRECISION)
    return dq


@triton.jit(do_not_specialize=["T", "S"])
def attention_bwd_dq_kernel(q_ptr, k_ptr, v_ptr, m_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
                            sqb, sqh, sqt, sqd, skb, skh, skt, skd, svb, svh, svt, svd, smb, smh, smt, sms,
                            sdb, sdh, sdt, sdd, H, T, S, D: tl.constexpr, scale: tl.float64,
                            CAUSAL: tl.constexpr, MASK: tl.constexpr, ACC: tl.constexpr, PRECISION: tl.constexpr,
                            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """dq ((B, H, T, D) contiguous) for BLOCK_M queries of one (b, h)."""
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    b, h = (bh // H).to(tl.int64), (bh % H).to(tl.int64)
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q_ok = (offs_m < T)[:, None] & (offs_d < D)[None, :]
    q = tl.load(q_ptr + b * sqb + h * sqh + offs_m[:, None] * sqt + offs_d[None, :] * sqd, mask=q_ok, other=0.0)
    do = tl.load(do_ptr + b * sdb + h * sdh + offs_m[:, None] * sdt + offs_d[None, :] * sdd, mask=q_ok, other=0.0)
    lse = tl.load(lse_ptr + bh.to(tl.int64) * T + offs_m, mask=offs_m < T, other=POS_INF).to(ACC) * LOG2E
    delta = tl.load(delta_ptr + bh.to(tl.int64) * T + offs_m, mask=offs_m < T, other=0.0)
    k_base, v_base = k_ptr + b * skb + h * skh, v_ptr + b * svb + h * svh
    m_base = m_ptr + b * smb + h * smh
    scale = tl.full((), scale, tl.float64).to(ACC)
    qk_scale = scale * LOG2E
    dq = tl.zeros([BLOCK_M, BLOCK_D], ACC)
    if CAUSAL:
        mid = tl.minimum(_causal_split(start_m, BLOCK_N), S)
        dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m, offs_d,
                        T, S, D, qk_scale, 0, mid, False, MASK, ACC, PRECISION, BLOCK_N)
        dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m, offs_d,
                        T, S, D, qk_scale, mid, tl.minimum(start_m + BLOCK_M, S), True, MASK, ACC, PRECISION, BLOCK_N)
    else:
        dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, m_base, skt, skd, svt, svd, smt, sms, offs_m, offs_d,
                        T, S, D, qk_scale, 0, S, False, MASK, ACC, PRECISION, BLOCK_N)
    out = bh.to(tl.int64) * T * D + offs_m[:, None] * D + offs_d[None, :]
    tl.store(dq_ptr + out, (dq * scale).to(dq_ptr.dtype.element_ty), mask=q_ok)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def unsupported(q, k, v, attn_mask=None):
    """Why the fused kernels cannot take these inputs (the caller then uses the explicit form), or None.

    The fused path takes: q (..., T, D), k and v (..., S, D) with the same leading dims (at most
    two, or more that merge into one as a view) and the same floating dtype, D <= 256 (any value:
    padded to a power of two >= 16), any strides; attn_mask None, bool or floating, broadcastable to
    (..., T, S). Not: broadcasting or grouped heads between q and k/v, v's head dim != q's, D > 256.
    Dropout is not part of these kernels.
    """
    if q.dtype not in U.FLOATS or k.dtype is not q.dtype or v.dtype is not q.dtype:
        return f"q, k, v must share one floating dtype (got {q.dtype.name}, {k.dtype.name}, {v.dtype.name})"
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        return f"q, k, v must have the same number (>= 2) of dims (got {q.ndim}, {k.ndim}, {v.ndim})"
    if q.shape[:-2] != k.shape[:-2] or q.shape[:-2] != v.shape[:-2]:
        return f"q, k, v leading dims differ ({q.shape}, {k.shape}, {v.shape}): no broadcasting in the fused path"
    if k.shape[-1] != q.shape[-1] or v.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
        return f"head dims or key lengths differ (q {q.shape}, k {k.shape}, v {v.shape})"
    if q.shape[-1] > MAX_HEAD_DIM:
        return f"head dim {q.shape[-1]} > {MAX_HEAD_DIM}"
    if attn_mask is not None:
        if attn_mask.dtype is not bool_ and attn_mask.dtype not in U.FLOATS:
            return f"attn_mask of dtype {attn_mask.dtype.name} (bool or floating only)"
        target = tuple(q.shape[:-1]) + (k.shape[-2],)
        try:
            fits = U.broadcast_shapes(tuple(attn_mask.shape), target) == target
        except ValueError:
            fits = False
        if not fits:
            return f"attn_mask {attn_mask.shape} does not broadcast to {target}"
    for a in (q, k, v) + ((attn_mask.expand(tuple(q.shape[:-1]) + (k.shape[-2],)),) if attn_mask is not None else ()):
        if _as_4d(a) is None:
            return f"the leading dims of a {a.shape} array with strides {a.strides} do not merge into one"
    return None


def _as_4d(a):
    """`a` (..., M, N) as a (B, H, M, N) view, or None when more than two leading dims do not merge."""
    if a.ndim <= 4:
        pad = 4 - a.ndim
        return U.DeviceArray(a.buf, a.offset, (1,) * pad + tuple(a.shape), (0,) * pad + tuple(a.strides), a.dtype)
    return a.view((U.numel(a.shape[:-3]),) + tuple(a.shape[-3:]))


def _prepare(q, k, v, attn_mask, is_causal, scale, allow_tf32):
    """Checks; the 4-d views of q, k, v and the mask, its kind and strides, and the kernels' meta-parameters."""
    why = unsupported(q, k, v, attn_mask)
    if why:
        raise NotImplementedError(f"fused attention: {why}; use the explicit form")
    T, D = q.shape[-2:]
    S = k.shape[-2]
    q4, k4, v4 = _as_4d(q), _as_4d(k), _as_4d(v)
    if attn_mask is None:
        m4, kind, mstrides = q4, _NO_MASK, (0, 0, 0, 0)  # NOTE: a valid pointer, never read
    else:
        m4 = _as_4d(attn_mask.expand(tuple(q.shape[:-1]) + (S,)))
        kind, mstrides = (_BOOL_MASK if attn_mask.dtype is bool_ else _ADD_MASK), m4.strides
    acc = tl.float64 if q.dtype is float64 else tl.float32
    meta = dict(CAUSAL=bool(is_causal), MASK=kind, ACC=acc, BLOCK_D=max(16, triton.next_power_of_2(D)),
                PRECISION="tf32" if allow_tf32 and q.dtype is not float64 else "ieee")
    return q4, k4, v4, m4, mstrides, float(1.0 / math.sqrt(D) if scale is None else scale), meta


def _blocks(dtype, D, T, S, backward):
    """(BLOCK_M, BLOCK_N, num_warps, num_stages) for the GPU; big, few programs under the interpreter."""
    if U.INTERPRET:
        return min(64, max(16, triton.next_power_of_2(T))), min(64, max(16, triton.next_power_of_2(S))), 4, 1
    if dtype is float64:
        return 32, 32, 4, 1
    if dtype.itemsize == 4:
        return 64, 32, 4, 2
    warps = 4 if D <= 64 else 8
    return (64, 64, warps, 2) if backward else (128, 64, warps, 3)


def attention_fwd(q, k, v, attn_mask=None, is_causal=False, scale=None, allow_tf32=False):
    """Fused scaled dot-product attention: softmax(q k^T * scale + mask) v, and the logsumexp.

    Args: q (..., T, D), k and v (..., S, D) DeviceArrays (any strides; see `unsupported` for what
    the fused path takes, NotImplementedError otherwise); attn_mask bool (True = attend) or additive,
    broadcastable to (..., T, S); is_causal as PyTorch's (query i sees keys j <= i); scale defaults
    to 1 / sqrt(D); allow_tf32: float32 dots on TF32 tensor cores (else IEEE fp32).
    Returns (o, lse): o (..., T, D) contiguous in q's dtype; lse (..., T) float32 (float64 for
    float64) contiguous, natural log, +inf on rows with no key to attend (whose o is 0).
    """
    q4, k4, v4, m4, mstrides, scale, meta = _prepare(q, k, v, attn_mask, is_causal, scale, allow_tf32)
    o = U.empty(q.shape, q.dtype)
    lse = U.empty(q.shape[:-1], float64 if q.dtype is float64 else float32)
    o4 = _as_4d(o)
    B, H, T, D = q4.shape
    S = k4.shape[2]
    if B * H * T:
        bm, bn, warps, stages = _blocks(q.dtype, D, T, S, False)
        fast(attention_fwd_kernel)[(U.cdiv(T, bm), B * H)](
            q4, k4, v4, m4, o4, lse, *q4.strides, *k4.strides, *v4.strides, *mstrides, *o4.strides,
            H, T, S, D, scale, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps, num_stages=stages, **meta)
    return o, lse


def attention_bwd(do, q, k, v, o, lse, attn_mask=None, is_causal=False, scale=None, allow_tf32=False):
    """Gradients (dq, dk, dv) of attention_fwd (same arguments), from the upstream `do` (o's shape, any
    strides) and the forward's o and lse. Returns new contiguous arrays in the inputs' dtype; four
    launches (delta, dk and dv, dq). No gradient for attn_mask: an additive mask that requires one
    needs the explicit form."""
    q4, k4, v4, m4, mstrides, scale, meta = _prepare(q, k, v, attn_mask, is_causal, scale, allow_tf32)
    if tuple(do.shape) != tuple(q.shape) or do.dtype is not q.dtype:
        raise ValueError(f"attention_bwd: do {do.shape} {do.dtype.name} and q {q.shape} {q.dtype.name} differ")
    dq, dk, dv = U.empty(q.shape, q.dtype), U.empty(k.shape, k.dtype), U.empty(v.shape, v.dtype)
    B, H, T, D = q4.shape
    S = k4.shape[2]
    do4, o4 = _as_4d(do), _as_4d(o)
    if do4 is None or o4 is None:  # NOTE: more than two leading dims that do not merge: copy
        do4, o4 = _as_4d(E.contiguous(do)), _as_4d(E.contiguous(o))
    delta = U.empty(lse.shape, lse.dtype)
    common = (*q4.strides, *k4.strides, *v4.strides, *mstrides, *do4.strides, H, T, S, D, scale)
    if B * H * T:
        bm, bn, warps, stages = _blocks(q.dtype, D, T, S, True)
        fast(attention_bwd_delta_kernel)[(U.cdiv(T, bm), B * H)](
            o4, do4, delta, *o4.strides, *do4.strides, H, T, D, ACC=meta["ACC"], BLOCK_M=bm,
            BLOCK_D=meta["BLOCK_D"], num_warps=warps)
        fast(attention_bwd_dq_kernel)[(U.cdiv(T, bm), B * H)](
            q4, k4, v4, m4, do4, lse, delta, dq, *common, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps, num_stages=stages,
            **meta)
    if B * H * S:
        bm, bn, warps, stages = _blocks(q.dtype, D, T, S, True)
        fast(attention_bwd_dkdv_kernel)[(U.cdiv(S, bn), B * H)](
            q4, k4, v4, m4, do4, lse, delta, dk, dv, *common, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps,
            num_stages=stages, **meta)
    return dq, dk, dv
