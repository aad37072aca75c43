"""Linear algebra beyond matmul: the reduced SVD (ops/svd.py's primitive) on CUDA, any size.

One-sided Jacobi (Hestenes), one program per matrix of the batch, in two kernels that differ only in
where the working matrix lives:
- The program works on W = A (m >= n) or W = A^T (m < n), so that W is (M, N) with M >= N = k: W's
  columns are rotated in pairs until they are mutually orthogonal, W J1 J2 ... = U diag(S), while V
  (N, N, from the identity) collects the same rotations: W = U diag(S) V^T. For A^T the roles swap:
  A = V diag(S) U^T. The swap is only in the strides the kernels read and write with.
- A sweep visits every pair p < q < N: with alpha = |w_p|^2, beta = |w_q|^2, gamma = w_p . w_q, the
  rotation (zeta = (beta - alpha) / (2 gamma), t = sign(zeta) / (|zeta| + sqrt(1 + zeta^2)),
  c = 1 / sqrt(1 + t^2), s = c t; _rotation, shared) makes the pair orthogonal; pairs already orthogonal
  to a tolerance (|gamma| <= eps sqrt(M) sqrt(alpha beta)) are skipped. Sweeps repeat until one rotates
  nothing (at most MAX_SWEEPS; a sweep's convergence is quadratic, float32 needs about 6-10 and float64
  about 8-14 for the register kernel's sizes).
- S = the columns' norms, U = W's columns / S, and each column's place in the output is its rank by S
  descending (ties by index): column j is stored at place rank(j), no separate sort.
_svd_kernel, for min(m, n) <= MAX_K and max(m, n) <= MAX_MN: W and V are register tiles, columns read
with masked reductions and written back with tl.where, O(M N) per pair.
_svd_big_kernel, for everything larger: W (column-major, so a column is contiguous) and V are scratch
copies in global memory, each column pass a loop over blocks of BIG_BLOCK_M rows. Its limitation, plainly:
it is the same serial algorithm, O(sweeps N^2 M) on ONE multiprocessor per matrix, each of the
N (N - 1) / 2 pairs of a sweep a chain of dependent global-memory passes. A batch of matrices spreads
over the GPU; one large matrix does not (no parallel pair ordering, no blocked or QR-preconditioned SVD),
so it handles any size (below 2^31 elements per matrix: its offsets are int32) but is slow for large N:
at N ~ 1000 expect on the order of a second per sweep (an estimate from memory latency, not a
measurement). Its scratch is (N M + N^2 + N) elements per matrix.
Limits, stated rather than hidden: a column whose singular value is exactly 0 (a rank-deficient
matrix) gets a zero column of U (LAPACK gives some orthonormal completion); S is right regardless.
Signs of singular vector pairs are arbitrary, as LAPACK's are. An input holding NaN or inf gives NaN
factors (PyTorch's CPU raises; the device cannot without a synchronizing read-back). float16 and
bfloat16 are refused (NotImplementedError): convert first.
"""
import triton
import triton.language as tl

from .._dtype import float32, float64
from . import _utils as U, elementwise as E
from ._launch import fast

# NOTE: _svd_kernel holds V as a (k, k) tile and W as a (max, min) tile, up to 256 x 64 elements, in
# registers; past either bound svd() launches _svd_big_kernel (tests lower them to force it)
MAX_K = 64  # min(m, n)
MAX_MN = 256  # max(m, n)
BIG_BLOCK_M = 1024  # _svd_big_kernel's rows per block (tests shrink it so that the row loops iterate)
MAX_SWEEPS = 30  # a bound, not a count: convergence normally ends the loop well before it
# NOTE: a pair with |gamma| <= eps sqrt(M) sqrt(alpha beta) is left alone (LAPACK's gesvj test): a
# rounded dot product of M terms cannot certify better, and a tighter test would rotate forever
_EPS = {float32: 1.1920929e-07, float64: 2.220446049250313e-16}


@triton.jit
def _rotation(alpha, beta, gamma, tol):
    """(go, c, s): the rotation that makes columns p, q orthogonal from alpha = |w_p|^2, beta = |w_q|^2,
    gamma = w_p . w_q; go False (c = 1, s = 0) when they already are, to the tolerance. Both kernels
    call it, so that they rotate alike."""
    go = tl.abs(gamma) > tol * tl.sqrt(alpha * beta)
    g = tl.where(go, gamma, 1.0)
    zeta = (beta - alpha) / (2.0 * g)
    az = tl.abs(zeta)
    # NOTE: sqrt(1 + zeta^2) as hi sqrt(1 + (lo / hi)^2): a large zeta is never squared
    # (float32 overflows near 1e19)
    hi, lo = tl.maximum(az, 1.0), tl.minimum(az, 1.0)
    root = hi * tl.sqrt(1.0 + (lo / hi) * (lo / hi))
    t = tl.where(zeta < 0.0, -1.0, 1.0) / (az + root)
    c = tl.where(go, 1.0 / tl.sqrt(1.0 + t * t), 1.0)
    s = tl.where(go, c * t, 0.0)
    return go, c, s


@triton.jit
def _svd_kernel(a_ptr, u_ptr, s_ptr, v_ptr, M, N, tol, s_ab, s_ar, s_ac, s_ub, s_ur, s_uc, s_vb, s_vr, s_vc,
                MAX_SWEEPS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """W (M, N), M >= N, at a_ptr + b s_ab + r s_ar + c s_ac -> U (M, N) (u strides), S (N,), V (N, N)
    (v strides), columns in S's descending order."""
    b = tl.program_id(0).to(tl.int64)
    rows, cols = tl.arange(0, BLOCK_M), tl.arange(0, BLOCK_N)
    vrows = tl.arange(0, BLOCK_N)
    ok = (rows[:, None] < M) & (cols[None, :] < N)
    A = tl.load(a_ptr + b * s_ab + rows[:, None] * s_ar + cols[None, :] * s_ac, mask=ok, other=0.0)
    bad = tl.max(tl.where(A == A, tl.abs(A), float("inf")), axis=1)  # NOTE: NaN / inf: NaN factors below
    bad = tl.max(bad, axis=0) == float("inf")
    V = tl.where((vrows[:, None] == cols[None, :]) & (cols[None, :] < N), 1.0, 0.0).to(A.dtype)
    rotated = 1
    sweep = 0
    while (rotated > 0) & (sweep < MAX_SWEEPS):
        rotated = 0
        for p in range(0, N - 1):
            is_p = cols[None, :] == p
            ap = tl.sum(tl.where(is_p, A, 0.0), axis=1)
            vp = tl.sum(tl.where(is_p, V, 0.0), axis=1)
            for q in range(p + 1, N):
                is_q = cols[None, :] == q
                aq = tl.sum(tl.where(is_q, A, 0.0), axis=1)
                vq = tl.sum(tl.where(is_q, V, 0.0), axis=1)
                alpha = tl.sum(ap * ap, axis=0)
                beta = tl.sum(aq * aq, axis=0)
                gamma = tl.sum(ap * aq, axis=0)
                go, c, s = _rotation(alpha, beta, gamma, tol)
                ap, aq = c * ap - s * aq, s * ap + c * aq
                vp, vq = c * vp - s * vq, s * vp + c * vq
                A = tl.where(is_q, aq[:, None], A)
                V = tl.where(is_q, vq[:, None], V)
                rotated += go.to(tl.int32)
            # NOTE: column p is final for this p once every q has rotated it: one write, not one per q
            A = tl.where(is_p, ap[:, None], A)
            V = tl.where(is_p, vp[:, None], V)
        sweep += 1
    S = tl.sqrt(tl.sum(A * A, axis=0))
    Uw = A / tl.where(S > 0.0, S, 1.0)[None, :]
    # rank of column j by S descending, ties by index; padding columns (key -1) rank last
    key = tl.where(cols < N, S, -1.0)
    ki, kj = key[:, None], key[None, :]
    before = (ki > kj) | ((ki == kj) & (vrows[:, None] < cols[None, :]))
    rank = tl.sum(before.to(tl.int32), axis=0)
    rank = tl.where(bad, cols, rank)
    nan = float("nan")
    S = tl.where(bad, nan, S)
    Uw = tl.where(bad, nan, Uw)
    V = tl.where(bad, nan, V)
    tl.store(s_ptr + b * N + rank, S, mask=cols < N)
    tl.store(u_ptr + b * s_ub + rows[:, None] * s_ur + rank[None, :] * s_uc, Uw, mask=ok)
    vok = (vrows[:, None] < N) & (cols[None, :] < N)
    tl.store(v_ptr + b * s_vb + vrows[:, None] * s_vr + rank[None, :] * s_vc, V, mask=vok)


@triton.jit
def _rotate_columns(base, p, q, length, c, s, BLOCK_M: tl.constexpr):
    """Columns p and q (each `length` contiguous elements at base + column * length) rotated in place:
    (p, q) <- (c p - s q, s p + c q), in blocks of BLOCK_M."""
    rows = tl.arange(0, BLOCK_M)
    for r0 in range(0, length, BLOCK_M):
        r = r0 + rows
        xp = tl.load(base + p * length + r, mask=r < length, other=0.0)
        xq = tl.load(base + q * length + r, mask=r < length, other=0.0)
        tl.store(base + p * length + r, c * xp - s * xq, mask=r < length)
        tl.store(base + q * length + r, s * xp + c * xq, mask=r < length)


@triton.jit
def _svd_big_kernel(a_ptr, w_ptr, vt_ptr, sc_ptr, u_ptr, s_ptr, v_ptr, M, N, tol, s_ab, s_ar, s_ac,
                    s_ub, s_ur, s_uc, s_vb, s_vr, s_vc, MAX_SWEEPS: tl.constexpr, BLOCK_M: tl.constexpr):
    """_svd_kernel's contract for any size: W's columns (w_ptr, (batch, N, M)), V's columns (vt_ptr,
    (batch, N, N)) and S (sc_ptr, (batch, N)) are scratch in global memory, read in blocks of BLOCK_M."""
    b = tl.program_id(0).to(tl.int64)
    w, vt, sc = w_ptr + b * N * M, vt_ptr + b * N * N, sc_ptr + b * N
    rows = tl.arange(0, BLOCK_M)
    worst = tl.zeros([BLOCK_M], dtype=w_ptr.dtype.element_ty)
    # NOTE: for m >= n this reads A's columns strided, once; every sweep then reads contiguous columns
    for j in range(0, N):
        for r0 in range(0, M, BLOCK_M):
            r = r0 + rows
            x = tl.load(a_ptr + b * s_ab + r * s_ar + j * s_ac, mask=r < M, other=0.0)
            worst = tl.maximum(worst, tl.where(x == x, tl.abs(x), float("inf")))
            tl.store(w + j * M + r, x, mask=r < M)
        for r0 in range(0, N, BLOCK_M):
            r = r0 + rows
            tl.store(vt + j * N + r, tl.where(r == j, 1.0, 0.0).to(worst.dtype), mask=r < N)
    bad = tl.max(worst, axis=0) == float("inf")  # NOTE: NaN / inf: no sweeps, NaN factors below
    tl.debug_barrier()
    rotated = tl.where(bad, 0, 1)
    sweep = 0
    while (rotated > 0) & (sweep < MAX_SWEEPS):
        rotated = 0
        for p in range(0, N - 1):
            for q in range(p + 1, N):
                aa = tl.zeros([BLOCK_M], dtype=worst.dtype)
                bb = tl.zeros([BLOCK_M], dtype=worst.dtype)
                gg = tl.zeros([BLOCK_M], dtype=worst.dtype)
                for r0 in range(0, M, BLOCK_M):
                    r = r0 + rows
                    wp = tl.load(w + p * M + r, mask=r < M, other=0.0)
                    wq = tl.load(w + q * M + r, mask=r < M, other=0.0)
                    aa += wp * wp
                    bb += wq * wq
                    gg += wp * wq
                go, c, s = _rotation(tl.sum(aa, axis=0), tl.sum(bb, axis=0), tl.sum(gg, axis=0), tol)
                if go:
                    _rotate_columns(w, p, q, M, c, s, BLOCK_M)
                    _rotate_columns(vt, p, q, N, c, s, BLOCK_M)
                    # NOTE: the next pair's loads may fall to other threads than these stores (replicated
                    # layouts): the barrier orders them. go is a reduction's result, the same in every
                    # thread, so all of them reach the barrier or none
                    tl.debug_barrier()
                rotated += go.to(tl.int32)
        sweep += 1
    for j in range(0, N):
        acc = tl.zeros([BLOCK_M], dtype=worst.dtype)
        for r0 in range(0, M, BLOCK_M):
            r = r0 + rows
            x = tl.load(w + j * M + r, mask=r < M, other=0.0)
            acc += x * x
        tl.store(sc + j, tl.sqrt(tl.sum(acc, axis=0)))
    tl.debug_barrier()
    nan = float("nan")
    for j in range(0, N):
        # NOTE: S_j read back from the scratch, as the rank loop reads the others: ties compare equal
        sj = tl.load(sc + j)
        rank = tl.zeros([BLOCK_M], dtype=tl.int32)
        for r0 in range(0, N, BLOCK_M):
            r = r0 + rows
            si = tl.load(sc + r, mask=r < N, other=-1.0)
            rank += ((si > sj) | ((si == sj) & (r < j))).to(tl.int32)
        rank = tl.where(bad, j, tl.sum(rank, axis=0))
        tl.store(s_ptr + b * N + rank, tl.where(bad, nan, sj))
        sd = tl.where(sj > 0.0, sj, 1.0)
        for r0 in range(0, M, BLOCK_M):
            r = r0 + rows
            x = tl.load(w + j * M + r, mask=r < M, other=0.0)
            tl.store(u_ptr + b * s_ub + r * s_ur + rank * s_uc, tl.where(bad, nan, x / sd), mask=r < M)
        for r0 in range(0, N, BLOCK_M):
            r = r0 + rows
            x = tl.load(vt + j * N + r, mask=r < N, other=0.0)
            tl.store(v_ptr + b * s_vb + r * s_vr + rank * s_vc, tl.where(bad, nan, x), mask=r < N)


def svd(a):
    """(U (..., m, k), S (..., k) descending, Vh (..., k, n)) of a (..., m, n), k = min(m, n): one
    Jacobi program per matrix (see the module docstring)."""
    if a.dtype not in _EPS:
        raise NotImplementedError(f"linalg.svd on CUDA: tritongrad's SVD kernel computes in float32 or float64, "
                                  f"not {a.dtype.name}: convert the tensor first (.float())")
    *lead, m, n = a.shape
    if m * n >= 2**31:
        raise NotImplementedError(f"linalg.svd on CUDA: tritongrad's SVD kernels index a matrix with int32 offsets, "
                                  f"below 2^31 elements, not {m} x {n}: move the tensor to the CPU (.cpu())")
    k = min(m, n)
    lead = tuple(lead)
    u, s, vh = U.empty(lead + (m, k), a.dtype), U.empty(lead + (k,), a.dtype), U.empty(lead + (k, n), a.dtype)
    batch = U.numel(lead)
    if batch * k == 0:
        return u, s, vh
    x = E.contiguous(a)
    if m >= n:  # W = A (m, n): U = W's U, Vh = V^T (V's column j is Vh's row j)
        big, sw, w_u, su, w_v, sv = m, (n, 1), u, (m * k, k, 1), vh, (k * n, 1, n)
    else:  # W = A^T (n, m): A = V diag(S) U_W^T, so U = V and Vh = U_W^T
        big, sw, w_u, su, w_v, sv = n, (1, n), vh, (k * n, 1, n), u, (m * k, k, 1)
    tol = _EPS[a.dtype] * big ** 0.5
    if k <= MAX_K and big <= MAX_MN:
        bm, bn = U.next_power_of_2(big), U.next_power_of_2(k)
        warps = 1 if bm * bn <= 1024 else 2 if bm * bn <= 4096 else 4 if bm * bn <= 8192 else 8
        fast(_svd_kernel)[(batch,)](x, w_u, s, w_v, big, k, tol, m * n, *sw, *su, *sv,
                                    MAX_SWEEPS=MAX_SWEEPS, BLOCK_M=bm, BLOCK_N=bn, num_warps=warps)
        return u, s, vh
    w, vt, sc = U.empty((batch, k, big), a.dtype), U.empty((batch, k, k), a.dtype), U.empty((batch, k), a.dtype)
    bm = min(U.next_power_of_2(big), BIG_BLOCK_M)
    fast(_svd_big_kernel)[(batch,)](x, w, vt, sc, w_u, s, w_v, big, k, tol, m * n, *sw, *su, *sv,
                                    MAX_SWEEPS=MAX_SWEEPS, BLOCK_M=bm, num_warps=max(1, min(4, bm // 128)))
    return u, s, vh
