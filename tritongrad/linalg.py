"""tritongrad.linalg: vector_norm, norm, matrix_norm and svdvals, as torch.linalg's (the 2, -2 and 'nuc'
matrix norms and svdvals read an SVD: LAPACK's on the CPU, kernels/linalg.py's on CUDA, see ops/svd.py)."""
import math

from .ops import stats as ST, svd as SVD
from .ops.inplace import _SCALAR_NAMES
from .ops.util import wrap_dims


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The `ord`-norm of x over `dim` (all dims: None): (sum |x|**ord) ** (1 / ord), max |x| for inf."""
    if not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_SCALAR_NAMES[x.dtype.name]}")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim:
        dims = wrap_dims(dim, x.ndim)
    else:
        wrap_dims(dim, 1)  # NOTE: a 0-d tensor takes dim 0 or -1 (PyTorch's check), and reduces nothing
        dims = ()
    if (ord < 0 or ord == math.inf) and x.numel() == 0:  # NOTE: no identity: PyTorch's messages (sic: no space)
        if dim is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on the dimension "
                                   f"{d}because this dimension is empty and the operation does not have an "
                                   "identity")
    return ST.VectorNorm.apply(x, ord, dims, keepdim)


def _ord_str(ord):
    return str(ord) if abs(ord) == math.inf or ord != int(ord) else str(int(ord))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """'fro', 1, -1, inf and -inf matrix norms over the two dims `dim`."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        rows, cols = (d0, d1) if ord in (1, -1) else (d1, d0)  # 1: the largest column sum; inf: row sum
        s = A.abs().sum(rows, keepdim=True)
        out = (s.max(cols, keepdim=True) if ord > 0 else s.min(cols, keepdim=True)).values
        return out if keepdim else out.squeeze((d0, d1))
    if ord not in (2, -2, "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord if isinstance(ord, str) else _ord_str(ord)} not supported.")
    # the singular values' max, min or sum, over A with the two dims moved last (PyTorch's way)
    last = A if (d0, d1) == (A.ndim - 2, A.ndim - 1) else A.movedim((d0, d1), (-2, -1))
    s = svdvals(last)
    empty = s.shape[-1] == 0  # NOTE: no singular values: 2 gives 0, -2 amin's error, as PyTorch
    out = s.amax(-1) if ord == 2 and not empty else s.amin(-1) if ord == -2 else s.sum(-1)
    if keepdim:
        shape = list(out.shape)
        for d in sorted((d0, d1)):
            shape.insert(d, 1)
        out = out.reshape(shape)
    return out


def svdvals(A):
    """The singular values of A (..., m, n), descending: output 1 of the SVD's node."""
    return SVD.svd(A)[1]


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm for 1-D input or one dim, else a matrix norm over two dims."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
