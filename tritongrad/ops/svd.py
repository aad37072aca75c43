"""Op table row: the reduced singular value decomposition A = U diag(S) Vh (PyTorch's LinalgSvdBackward0,
one node for the three outputs), which linalg.svdvals and the 2, -2 and 'nuc' matrix norms read.

CPU: NumPy's LAPACK SVD. CUDA: kernels/linalg.py's one-sided Jacobi, one program per matrix, in float32 /
float64 (half: NotImplementedError): in registers for min(m, n) <= 64 and max(m, n) <= 256, larger sizes in a
global-memory scratch copy (correct at any size, but serial on one multiprocessor per matrix: slow for large
ones). Singular vectors' signs are arbitrary on both, as LAPACK's are.
The derivative is PyTorch's svd_backward (real case), in the F vocabulary on the saved outputs, so that
its own derivative (double backward) runs through this node again with gU and gVh.
"""
from .table import Op


def _mT(F, a):
    n = len(a.shape)
    return F.permute(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _unsq(F, a, at):
    """a with a size-1 dim inserted at `at` (-1 or -2)."""
    shape = tuple(a.shape)
    return F.reshape(a, shape + (1,) if at == -1 else shape[:-1] + (1,) + shape[-1:])


class LinalgSvd(Op):
    """(U, S, Vh) of A (..., m, n), k = min(m, n): U (..., m, k), S (..., k) descending, Vh (..., k, n)."""

    node_name = "LinalgSvdBackward0"
    saved_as = {"S": 1, "U": 0, "Vh": 2, "full_matrices": lambda n: False, "S_sym_argsize_minus_1": "k"}
    _n_inputs = 1
    _multi_output = True
    _save_output = True

    @staticmethod
    def forward(a):
        return a._be.svd(a._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a = inputs[0]
        ctx.k = out[1].shape[-1]
        eye = _eye(ctx.k, a._dtype)  # NOTE: E's and diag(gS)'s identity, and its complement
        ctx.eye, ctx.off = a._be.from_numpy(eye), a._be.from_numpy(1 - eye)

    @staticmethod
    def formula(ctx, F, gU, gS, gVh):
        U, S, Vh = F.saved(ctx)
        m, n = U.shape[-2], Vh.shape[-1]
        eye, off = F.const(ctx.eye, S), F.const(ctx.off, S)
        if gU is None and gVh is None:  # svdvals: U diag(gS) Vh
            return F.matmul(F.mul(U, _unsq(F, gS, -2)), Vh)
        S2 = F.mul(S, S)
        # E[j, k] = S_k^2 - S_j^2 off the diagonal, 1 on it
        E = F.add(F.mul(F.sub(_unsq(F, S2, -2), _unsq(F, S2, -1)), off), eye)
        UhgU = None if gU is None else F.matmul(_mT(F, U), gU)
        VhgV = None if gVh is None else F.matmul(Vh, _mT(F, gVh))
        UhgU = None if UhgU is None else F.sub(UhgU, _mT(F, UhgU))  # skew
        VhgV = None if VhgV is None else F.sub(VhgV, _mT(F, VhgV))
        if UhgU is not None and VhgV is not None:
            gA = F.div(F.add(F.mul(UhgU, _unsq(F, S, -2)), F.mul(_unsq(F, S, -1), VhgV)), E)
        elif UhgU is not None:
            gA = F.mul(UhgU, F.div(_unsq(F, S, -2), E))
        else:
            gA = F.mul(_unsq(F, S, -1), F.div(VhgV, E))
        if gS is not None:
            gA = F.add(gA, F.mul(eye, _unsq(F, gS, -2)))
        if m > n and gU is not None:  # [U gA + (I - U U^T) gU S^-1] Vh
            gA = F.matmul(U, gA)
            gUSinv = F.div(gU, _unsq(F, S, -2))
            gA = F.sub(F.add(gA, gUSinv), F.matmul(U, F.matmul(_mT(F, U), gUSinv)))
            return F.matmul(gA, Vh)
        if m < n and gVh is not None:  # U [gA Vh + S^-1 gVh (I - V Vh)]
            gA = F.matmul(gA, Vh)
            SinvgVh = F.div(gVh, _unsq(F, S, -1))
            gA = F.sub(F.add(gA, SinvgVh), F.matmul(F.matmul(SinvgVh, _mT(F, Vh)), Vh))
            return F.matmul(U, gA)
        return F.matmul(U, F.matmul(gA, Vh))


def _eye(k, dtype):
    import numpy as np

    return np.eye(k, dtype=dtype.np)


def svd(A):
    """(U, S, Vh), reduced: checks with PyTorch's messages, then the LinalgSvd row."""
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    if not A._dtype.is_floating_point:
        from .inplace import _SCALAR_NAMES

        raise RuntimeError(f"linalg.svd: Expected a floating point or complex tensor as input. Got "
                           f"{_SCALAR_NAMES[A._dtype.name]}")
    if A._dtype.itemsize == 2 and A.device.type == "cpu":
        from .inplace import _SCALAR_NAMES

        raise NotImplementedError(f"\"linalg_svd_cpu\" not implemented for '{_SCALAR_NAMES[A._dtype.name]}'")
    return LinalgSvd.apply(A)
