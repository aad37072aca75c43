"""A persistent matmul for large fp16 / bf16 products, its tiles moved by TMA (Hopper's tensor memory
accelerator) through descriptors built on the device, after Triton's persistent-matmul tutorial.

One program per SM walks the output tiles in grouped order (a stride of the grid), so the grid is
launched once and no tile waits for a new wave; the tiles of A and B come in by TMA copies (no
address arithmetic per element, no masks: the descriptor clips at the edges), the output leaves the
same way, in two halves (less shared memory for the epilogue, so more for the pipeline).

NOT YET MEASURED on a GPU: compiled for sm_90 in tests/test_kernels_compile.py and checked for
values under Triton's interpreter; kernels/matmul.py uses it where the configuration table says so
(matmul_table.py: 16-bit products of at least 1024^3 until measured) and TMA can address the operands
(`eligible`).
"""
import triton
import triton.language as tl

from . import _utils as U
from ._launch import fast

CONFIG = dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, GROUP_M=8, num_warps=8, num_stages=3)
HAS_TMA = hasattr(tl, "make_tensor_descriptor")  # NOTE: triton >= 3.4; older ones keep the tiled kernel
_INTERPRET = tl.constexpr(U.INTERPRET)


@triton.jit
def matmul_tma_persistent_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_a, stride_b, stride_c,
                                 A_K_MAJOR: tl.constexpr, B_K_MAJOR: tl.constexpr, BLOCK_M: tl.constexpr,
                                 BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
                                 NUM_SMS: tl.constexpr):
    """c (M, N, row stride stride_c) = a (M, K) @ b (K, N).

    a is K-contiguous (row stride stride_a) if A_K_MAJOR, else M-contiguous (column stride stride_a);
    b is K-contiguous (column stride stride_b) if B_K_MAJOR, else N-contiguous (row stride stride_b).
    """
    if A_K_MAJOR:
        a_desc = tl.make_tensor_descriptor(a_ptr, shape=[M, K], strides=[stride_a, 1], block_shape=[BLOCK_M, BLOCK_K])
    else:
        a_desc = tl.make_tensor_descriptor(a_ptr, shape=[K, M], strides=[stride_a, 1], block_shape=[BLOCK_K, BLOCK_M])
    if B_K_MAJOR:
        b_desc = tl.make_tensor_descriptor(b_ptr, shape=[N, K], strides=[stride_b, 1], block_shape=[BLOCK_N, BLOCK_K])
    else:
        b_desc = tl.make_tensor_descriptor(b_ptr, shape=[K, N], strides=[stride_b, 1], block_shape=[BLOCK_K, BLOCK_N])
    c_desc = tl.make_tensor_descriptor(c_ptr, shape=[M, N], strides=[stride_c, 1],
                                       block_shape=[BLOCK_M, BLOCK_N // 2])
    num_m = tl.cdiv(M, BLOCK_M)
    num_n = tl.cdiv(N, BLOCK_N)
    per_group = GROUP_M * num_n
    for tile in tl.range(tl.program_id(0), num_m * num_n, NUM_SMS, flatten=True):
        # NOTE: grouped order, as the tiled kernel: GROUP_M row-blocks share B's columns in L2
        first_m = (tile // per_group) * GROUP_M
        rows = min(num_m - first_m, GROUP_M)
        m0 = (first_m + (tile % per_group) % rows) * BLOCK_M
        n0 = ((tile % per_group) // rows) * BLOCK_N
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k in range(tl.cdiv(K, BLOCK_K)):
            k0 = k * BLOCK_K
            a = a_desc.load([m0, k0]) if A_K_MAJOR else a_desc.load([k0, m0]).T
            b = b_desc.load([n0, k0]).T if B_K_MAJOR else b_desc.load([k0, n0])
            if _INTERPRET and a.dtype == tl.bfloat16:
                a, b = a.to(tl.float32), b.to(tl.float32)  # NOTE: the interpreter's dot misreads bf16 bits
            acc = tl.dot(a, b, acc)
        # NOTE: the epilogue in two halves of BLOCK_N / 2 columns
        halves = tl.permute(tl.reshape(acc, (BLOCK_M, 2, BLOCK_N // 2)), (0, 2, 1))
        left, right = tl.split(halves)
        c_desc.store([m0, n0], left.to(c_ptr.dtype.element_ty))
        c_desc.store([m0, n0 + BLOCK_N // 2], right.to(c_ptr.dtype.element_ty))


def eligible(a, b, c, M, N, K, sa, sb, sc):
    """Whether TMA can address the operands: one unit stride each, 16-byte aligned bases and rows."""
    it = a.dtype.itemsize
    if sc[1] != 1 or not (sa[1] == 1 or sa[0] == 1) or not (sb[0] == 1 or sb[1] == 1):
        return False
    outer = (sa[0] if sa[1] == 1 else sa[1], sb[1] if sb[0] == 1 else sb[0], sc[0])
    return all(x.data_ptr() % 16 == 0 for x in (a, b, c)) and all(s * it % 16 == 0 for s in outer)


def launch(a, b, c, M, N, K, sa, sb, sc, config=CONFIG):
    """c = a @ b (one product: no batch), through the persistent kernel; `eligible` must hold."""
    cfg = dict(config)
    sms = U.num_sms()
    grid = (min(sms, U.cdiv(M, cfg["BLOCK_M"]) * U.cdiv(N, cfg["BLOCK_N"])),)
    a_k, b_k = sa[1] == 1, sb[0] == 1
    fast(matmul_tma_persistent_kernel)[grid](a, b, c, M, N, K, sa[0] if a_k else sa[1], sb[1] if b_k else sb[0],
                                             sc[0], A_K_MAJOR=a_k, B_K_MAJOR=b_k, NUM_SMS=sms, **cfg)
