"""Matrix multiplication with NumPy's matmul semantics: 1-D operands, broadcast batch dims.

`matmul_kernel` is the tiled tensor-core kernel (fp32, fp16, bf16 inputs; fp32 accumulation;
output in the input dtype) with grouped program order and, for products with few output tiles
and a long K, split-K (fp32 partial sums added by `splitk_sum_kernel`). A and B are read through
arbitrary strides, so the backward of `x @ w` passes transposed views (`w.T`, `x.T`) without
copying them (tf32 products large enough copy an operand that is not K-major: Hopper's tf32
instructions need both K-major). Large fp16 / bf16 products go to the persistent TMA kernel
(matmul_persistent.py). `matmul_fma_kernel` is a CUDA-core fallback for float64 and integers,
which tl.dot does not cover everywhere.

Which configuration a product gets (`_config`): the table of matmul_table.py for its shape class
(the training products' classes: derived, not yet measured, until scripts/matmul_table.py
--measure rewrites it on a GPU), else the same tile rule for products under 512^3, else Triton's
autotuner (large products outside the table). No autotuning on the training path.

Pin one config (reproducible benchmarks) with `pin_config(BLOCK_M=128, ...)` or the environment
variable TRITONGRAD_MATMUL_CONFIG="BLOCK_M=128,BLOCK_N=128,BLOCK_K=32,GROUP_M=8,num_warps=4,
num_stages=4"; every product under Triton's interpreter uses one small config chosen from its shape.
"""
import itertools
import os

import triton
import triton.language as tl

from .._dtype import bfloat16, bool_, float16, float32
from . import _utils as U, matmul_persistent as P, matmul_table
from ._launch import fast

_CONFIGS = [
    # (BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, num_warps, num_stages): Triton's tutorial set for Hopper/Ampere
    (128, 256, 64, 8, 8, 3),
    (128, 256, 32, 8, 8, 4),  # NOTE: the best tf32 config measured on an H100 (4096^3, B K-major: 311 TFLOP/s)
    (256, 128, 64, 8, 8, 3),
    (64, 256, 32, 8, 4, 4),
    (128, 128, 32, 8, 4, 4),
    (128, 128, 64, 8, 8, 3),
    (128, 64, 32, 8, 4, 4),
    (64, 128, 32, 8, 4, 4),
    (64, 64, 32, 8, 4, 4),
    (32, 64, 32, 8, 2, 5),
]
_AUTOTUNE_MIN = 2**27  # M * N * K (512^3) from which the configs are autotuned
_TF32_TRANSPOSE_MIN = 2**30  # M * N * K from which tf32 products copy an N-major B to K-major
_T_BLOCK, _T_WARPS = 64, 4  # transpose_kernel's tile and warps
_MAX_GRID_Y = 65535  # CUDA's limit on gridDim.y: the batch axis
_INTERPRET = tl.constexpr(U.INTERPRET)


@triton.jit(do_not_specialize=["LAYOUT"])
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  stride_ab, stride_bb, stride_cb, LAYOUT, PRECISION: tl.constexpr, BLOCK_M: tl.constexpr,
                  BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr, SPLIT_K: tl.constexpr = 1):
    """c[z] = a[z] @ b[z] for batch z = program_id(1); a (M, K), b (K, N), c (M, N), all strided.

    SPLIT_K > 1 (one product, no batch): program_id(1) is instead the part of the K range this
    program sums, and c[z] its fp32 partial sums (splitk_sum_kernel adds them up).
    LAYOUT only keys the autotuner (which operands are K-contiguous); the kernel ignores it.
    """
    pid = tl.program_id(0)
    z = tl.program_id(1).to(tl.int64)
    num_m = tl.cdiv(M, BLOCK_M)
    num_n = tl.cdiv(N, BLOCK_N)
    # NOTE: grouped order: GROUP_M row-blocks share the B columns they read while in L2
    group = pid // (GROUP_M * num_n)
    first_m = group * GROUP_M
    group_m = min(num_m - first_m, GROUP_M)
    pid_m = first_m + (pid % (GROUP_M * num_n)) % group_m
    pid_n = (pid % (GROUP_M * num_n)) // group_m
    # NOTE: rows / cols wrap modulo M / N: loads stay in bounds without masks; stores are masked
    rm = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M
    rn = (pid_n * BLOCK_N + tl.arange(0, BLOCK_N)) % N
    rk = tl.arange(0, BLOCK_K)
    # NOTE: int64 offsets: batched operands can span more than 2**31 elements
    a_ptrs = a_ptr + z * stride_ab + rm.to(tl.int64)[:, None] * stride_am + rk[None, :] * stride_ak
    b_ptrs = b_ptr + z * stride_bb + rk[:, None] * stride_bk + rn.to(tl.int64)[None, :] * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)  # NOTE: fp32 accumulation for every input type
    k_lo, k_hi = 0, tl.cdiv(K, BLOCK_K)
    if SPLIT_K > 1:  # NOTE: the caller passes zero batch strides for a and b
        per = tl.cdiv(k_hi, SPLIT_K)
        k_lo = tl.program_id(1) * per
        k_hi = min(k_hi, k_lo + per)
        a_ptrs += k_lo.to(tl.int64) * BLOCK_K * stride_ak  # NOTE: int64: K times a stride can pass 2**31
        b_ptrs += k_lo.to(tl.int64) * BLOCK_K * stride_bk
    for k in range(k_lo, k_hi):
        k_ok = rk < K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=k_ok[None, :], other=0.0)
        b = tl.load(b_ptrs, mask=k_ok[:, None], other=0.0)
        if _INTERPRET and a.dtype == tl.bfloat16:
            a, b = a.to(tl.float32), b.to(tl.float32)  # NOTE: the interpreter's dot misreads bf16 bits
        # NOTE: fp32 inputs: "ieee" unless the user allowed tf32 (tg.backends.cuda.matmul.allow_tf32)
        acc = tl.dot(a, b, acc, input_precision=PRECISION)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    cm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    c_ptrs = c_ptr + z * stride_cb + cm.to(tl.int64)[:, None] * stride_cm + cn.to(tl.int64)[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(cm[:, None] < M) & (cn[None, :] < N))


@triton.jit
def matmul_fma_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm,
                      stride_cn, stride_ab, stride_bb, stride_cb, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                      BLOCK_K: tl.constexpr):
    """c[z] = a[z] @ b[z] on CUDA cores, accumulating in fp64 (float64) or int64 (integers)."""
    pid_m = tl.program_id(0) // tl.cdiv(N, BLOCK_N)
    pid_n = tl.program_id(0) % tl.cdiv(N, BLOCK_N)
    z = tl.program_id(1).to(tl.int64)
    rm = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    rn = (pid_n * BLOCK_N + tl.arange(0, BLOCK_N)).to(tl.int64)
    rk = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + z * stride_ab + rm[:, None] * stride_am + rk[None, :] * stride_ak
    b_ptrs = b_ptr + z * stride_bb + rk[:, None] * stride_bk + rn[None, :] * stride_bn
    if c_ptr.dtype.element_ty.is_floating():
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int64)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        k_ok = rk < K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=(rm[:, None] < M) & k_ok[None, :], other=0).to(acc.dtype)
        b = tl.load(b_ptrs, mask=k_ok[:, None] & (rn[None, :] < N), other=0).to(acc.dtype)
        acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    c_ptrs = c_ptr + z * stride_cb + rm[:, None] * stride_cm + rn[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))


@triton.jit
def transpose_kernel(x_ptr, y_ptr, R, C, stride_r, stride_c, BLOCK: tl.constexpr):
    """y = x.T, contiguous (C, R), for a strided x (R, C): tile by tile, coalesced on both sides."""
    r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    c = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = (r[:, None] < R) & (c[None, :] < C)
    x = tl.load(x_ptr + r.to(tl.int64)[:, None] * stride_r + c.to(tl.int64)[None, :] * stride_c, mask=mask)
    tl.store(y_ptr + c.to(tl.int64)[None, :] * R + r[:, None], x, mask=mask)


@triton.jit
def splitk_sum_kernel(ws_ptr, c_ptr, M, N, stride_cm, stride_cn, SPLIT_K: tl.constexpr, BLOCK: tl.constexpr):
    """c = the sum of the SPLIT_K fp32 partial products ws (SPLIT_K, M, N), in c's dtype."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < M * N
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for s in tl.static_range(SPLIT_K):
        acc += tl.load(ws_ptr + s * M * N + idx, mask=mask, other=0.0)
    tl.store(c_ptr + (idx // N) * stride_cm + (idx % N) * stride_cn, acc.to(c_ptr.dtype.element_ty), mask=mask)


# ----------------------------------------------------------------------------------------------------
# config selection
# ----------------------------------------------------------------------------------------------------
_pinned = None  # pin_config's kwargs: every product
_forced = None  # force_config's kwargs: every product (scripts/matmul_table.py's measurements)
_tuned = None
_configs = {}  # (M, N, K, dtype, precision, batch) -> kwargs of the launch, None: autotune


def pin_config(BLOCK_M=None, BLOCK_N=128, BLOCK_K=32, GROUP_M=8, num_warps=4, num_stages=4, SPLIT_K=1):
    """Use one matmul config from now on instead of the table; pin_config() (no BLOCK_M) unpins."""
    global _pinned
    _pinned = None if BLOCK_M is None else dict(BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
                                                GROUP_M=GROUP_M, num_warps=num_warps, num_stages=num_stages)
    if _pinned and SPLIT_K != 1:
        _pinned["SPLIT_K"] = SPLIT_K
    _configs.clear()


def force_config(cfg):
    """Launch every product with the table-style tuple `cfg` (None: back to the table), pinned or not."""
    global _forced
    _forced = None if cfg is None else _kwargs(cfg)
    _configs.clear()


def _pin_from_env():
    spec = os.environ.get("TRITONGRAD_MATMUL_CONFIG")
    if spec:
        pin_config(**{k.strip(): int(v) for k, v in (kv.split("=") for kv in spec.split(","))})


_pin_from_env()


def _prune(configs, named_args, **kwargs):
    """Drop configs whose pipelined tiles cannot fit in an H100's 228 KiB of shared memory."""
    size = named_args["a_ptr"].dtype.itemsize
    keep = [c for c in configs if (c.kwargs["BLOCK_M"] + c.kwargs["BLOCK_N"]) * c.kwargs["BLOCK_K"] * size *
            c.num_stages <= 200 * 1024]
    return keep or configs[-1:]


def _autotuned():
    global _tuned
    if _tuned is None:
        configs = [triton.Config(dict(BLOCK_M=m, BLOCK_N=n, BLOCK_K=k, GROUP_M=g), num_warps=w, num_stages=s)
                   for m, n, k, g, w, s in _CONFIGS]
        # NOTE: the benchmarker is driver.active.get_benchmarker(): tritongrad's driver times with
        # CUDA events on its own stream, no torch. PRECISION is in the key: Triton's key adds the
        # operands' dtypes but not constexprs, and the best tile for tf32 is not the one for ieee.
        _tuned = triton.autotune(configs, key=["M", "N", "K", "LAYOUT", "PRECISION"],
                                 prune_configs_by={"early_config_prune": _prune})(matmul_kernel)
    return _tuned


def _kwargs(cfg):
    bm, bn, bk, g, w, st, split = cfg
    out = dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, GROUP_M=g, num_warps=w, num_stages=st)
    if split > 1:
        out["SPLIT_K"] = split
    return out


def _small_config(M, N, K):
    """Every product's config under Triton's interpreter: as few programs as possible."""
    p2 = U.next_power_of_2
    return dict(BLOCK_M=min(max(p2(M), 16), 64), BLOCK_N=min(max(p2(N), 16), 64),
                BLOCK_K=min(max(p2(K), 16), 64), GROUP_M=8)


def _config(M, N, K, dtype, prec, batch):
    """The launch kwargs of a tensor-core product (SPLIT_K included), None to autotune, or
    matmul_table.PERSISTENT for the persistent TMA kernel (one 16-bit product, where the table or
    its size says so).

    The table (matmul_table.py) for its shape classes; outside it, the same rules for products
    under 512^3, which autotuning (about a second per new shape) would never repay in a training
    loop, and for large 16-bit products (the persistent kernel), Triton's autotuner for the others.
    """
    key = (M, N, K, dtype, prec, batch)
    got = _configs.get(key, False)
    if got is False:
        kind = "16bit" if dtype is not float32 else "tf32" if prec == "tf32" else "fp32"
        cfg = matmul_table.lookup(kind, M, N, K)
        if _forced or _pinned:
            got = dict(_forced or _pinned)
        elif kind == "16bit" and batch == 1 and P.HAS_TMA and (
                cfg == matmul_table.PERSISTENT or cfg is None and M * N * K >= matmul_table.PERSISTENT_MIN):
            got = matmul_table.PERSISTENT
        elif U.INTERPRET:
            got = _small_config(M, N, K)
        else:
            if cfg == matmul_table.PERSISTENT or cfg is None and M * N * K < _AUTOTUNE_MIN:
                cfg = matmul_table.derive_tiled(kind, M, N, K)  # NOTE: PERSISTENT: a batch, or no TMA here
            got = None if cfg is None else _kwargs(cfg)
        if isinstance(got, dict) and batch != 1:
            got.pop("SPLIT_K", None)  # NOTE: split-K runs on one product; program_id(1) is the batch
        if len(_configs) > 4096:  # NOTE: a bound, not an LRU: shapes in a training loop repeat
            _configs.clear()
        _configs[key] = got
    return got


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _k_major(x, R, C, stride_r, stride_c):
    """A contiguous (C, R) copy of the (R, C) view at `x` with those strides: x.T, K-major."""
    y = U.empty((C, R), x.dtype)
    grid = (U.cdiv(R, _T_BLOCK), U.cdiv(C, _T_BLOCK))
    fast(transpose_kernel)[grid](x, y, R, C, stride_r, stride_c, BLOCK=_T_BLOCK, num_warps=_T_WARPS)
    return y


def _launch_2d(a, b, c, M, N, K, sa, sb, sc, batch, allow_tf32):
    """c[z] = a[z] @ b[z] for z < batch; sa, sb, sc are (row, col, batch) strides."""
    dtype = a.dtype
    if dtype not in (float32, float16, bfloat16):
        return _launch_fma(a, b, c, M, N, K, sa, sb, sc, batch)
    prec = ("tf32" if allow_tf32 else "ieee") if dtype is float32 else None
    if prec == "tf32" and batch == 1 and M * N * K >= _TF32_TRANSPOSE_MIN:
        # NOTE: Hopper's tf32 tensor-core instructions (wgmma) read both operands K-major only; for
        # an N-major B (or an M-major A: x.T in backward) Triton falls back to older MMA
        # instructions (measured on an H100 at 4096^3: 96 TFLOP/s, against 311 with B K-major).
        # One transposing copy costs far less.
        if sb[0] != 1:
            b, sb = _k_major(b, K, N, sb[0], sb[1]), (1, K, 0)
        if sa[1] != 1:
            a, sa = _k_major(a, K, M, sa[1], sa[0]), (K, 1, 0)
    layout = 2 * (sa[1] == 1) + (sb[0] == 1)
    cfg = _config(M, N, K, dtype, prec, batch)
    if cfg == matmul_table.PERSISTENT:  # NOTE: large fp16 / bf16 products
        if P.eligible(a, b, c, M, N, K, sa, sb, sc):
            return P.launch(a, b, c, M, N, K, sa, sb, sc)
        cfg = _kwargs(matmul_table.derive_tiled("16bit", M, N, K))
    split = cfg.get("SPLIT_K", 1) if cfg else 1
    if split > 1:
        ws = U.empty((split, M, N), float32)  # NOTE: fp32 partial sums, added by splitk_sum_kernel
        grid = (U.cdiv(M, cfg["BLOCK_M"]) * U.cdiv(N, cfg["BLOCK_N"]), split)
        fast(matmul_kernel)[grid](a, b, ws, M, N, K, sa[0], sa[1], sb[0], sb[1], N, 1, 0, 0, M * N, layout,
                                  PRECISION=prec, **cfg)
        block = U.block_for(M * N)
        fast(splitk_sum_kernel)[(U.cdiv(M * N, block),)](ws, c, M, N, sc[0], sc[1], SPLIT_K=split, BLOCK=block,
                                                         num_warps=4)
        return
    for z0 in range(0, batch, _MAX_GRID_Y):
        nz = min(batch, z0 + _MAX_GRID_Y) - z0
        aa, bb, cc = (a, b, c) if not z0 else (U.DeviceArray(x.buf, x.offset + z0 * s[2], x.shape, x.strides, x.dtype)
                                              for x, s in ((a, sa), (b, sb), (c, sc)))
        args = (aa, bb, cc, M, N, K, sa[0], sa[1], sb[0], sb[1], sc[0], sc[1], sa[2], sb[2], sc[2])
        if cfg is not None:
            grid = (U.cdiv(M, cfg["BLOCK_M"]) * U.cdiv(N, cfg["BLOCK_N"]), nz)
            fast(matmul_kernel)[grid](*args, layout, PRECISION=prec, **cfg)
        else:
            grid = lambda meta, nz=nz: (U.cdiv(M, meta["BLOCK_M"]) * U.cdiv(N, meta["BLOCK_N"]), nz)
            fast(_autotuned())[grid](*args, layout, PRECISION=prec)


def _launch_fma(a, b, c, M, N, K, sa, sb, sc, batch):
    bm, bn, bk = (64, 64, 16) if U.INTERPRET else (32, 32, 8)
    for z0 in range(0, batch, _MAX_GRID_Y):
        nz = min(batch, z0 + _MAX_GRID_Y) - z0
        aa, bb, cc = (U.DeviceArray(x.buf, x.offset + z0 * s[2], x.shape, x.strides, x.dtype)
                      for x, s in ((a, sa), (b, sb), (c, sc)))
        grid = (U.cdiv(M, bm) * U.cdiv(N, bn), nz)
        fast(matmul_fma_kernel)[grid](aa, bb, cc, M, N, K, sa[0], sa[1], sb[0], sb[1], sc[0], sc[1], sa[2], sb[2],
                                      sc[2], BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, num_warps=4)


_DOT = (float32, float16, bfloat16)


def matmul(a, b, allow_tf32=False):
    """NumPy's matmul of two arrays of one dtype: (..., M, K) @ (..., K, N) -> (..., M, N).

    1-D operands get a dim added (then removed), batch dims broadcast. `allow_tf32` lets fp32
    products use TF32 tensor cores (faster, ~10 mantissa bits), as torch's flag of that name.
    """
    if a.ndim == 2 and b.ndim == 2 and a.dtype is b.dtype and a.dtype in _DOT:
        # NOTE: the training path (every linear layer, forward and backward), without batch arithmetic
        (M, K), (K2, N) = a.shape, b.shape
        if K == K2 and M and N and K:
            c = U.empty((M, N), a.dtype)
            _launch_2d(a, b, c, M, N, K, (*a.strides, 0), (*b.strides, 0), (N, 1, 0), 1, allow_tf32)
            return c
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: Input operand {0 if a.ndim == 0 else 1} does not have enough dimensions")
    if a.dtype is not b.dtype:
        raise TypeError(f"matmul needs one dtype, got {a.dtype.name} and {b.dtype.name}")
    if a.dtype is bool_:
        raise TypeError("matmul is not implemented for bool")
    a2 = a if a.ndim > 1 else a.view((1,) + a.shape)
    b2 = b if b.ndim > 1 else b.view(b.shape + (1,))
    (M, K), (K2, N) = a2.shape[-2:], b2.shape[-2:]
    if K != K2:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
                         f"signature (n?,k),(k,m?)->(n?,m?) (size {K2} is different from {K})")
    batch = U.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    c = U.empty(batch + (M, N), a.dtype)
    if U.numel(c.shape):
        if K == 0:
            from .elementwise import fill_
            fill_(c, 0)
        else:
            _batched(a2, b2, c, batch, M, N, K, allow_tf32)
    shape = batch + ((M,) if a.ndim > 1 else ()) + ((N,) if b.ndim > 1 else ())
    return c if shape == c.shape else c.view(shape)


def _batched(a, b, c, batch, M, N, K, allow_tf32):
    full = batch + (M, K)
    sa = U.broadcast_strides(a, full)
    sb = U.broadcast_strides(b, batch + (K, N))
    sc = c.strides
    nb = len(batch)
    shp, (ba, bb, bc) = U.collapse(batch, [sa[:nb], sb[:nb], sc[:nb]])
    # NOTE: batch dims that do not merge (rare broadcasts) loop here, one launch per leading index
    for idx in itertools.product(*(range(s) for s in shp[:-1])):
        oa = sum(i * s for i, s in zip(idx, ba))
        ob = sum(i * s for i, s in zip(idx, bb))
        oc = sum(i * s for i, s in zip(idx, bc))
        _launch_2d(U.DeviceArray(a.buf, a.offset + oa, a.shape, a.strides, a.dtype),
                   U.DeviceArray(b.buf, b.offset + ob, b.shape, b.strides, b.dtype),
                   U.DeviceArray(c.buf, c.offset + oc, c.shape, c.strides, c.dtype), M, N, K,
                   (sa[-2], sa[-1], ba[-1]), (sb[-2], sb[-1], bb[-1]), (sc[-2], sc[-1], bc[-1]), shp[-1],
                   allow_tf32)
