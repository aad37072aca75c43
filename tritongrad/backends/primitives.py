"""THE PRIMITIVE LIST: every operation a backend provides, one row each.

A row says: the primitive's name; how it is called (`kind`); how many array operands it takes
(`arity`); its dtype rule; which op it is the fused backward of (if any); and, for elementwise rows,
its NumPy reference implementation, which *is* the CPU backend's primitive (cpu.py reads it from
here). The Triton backend implements the same row by a kernel branch of the same name
(kernels/pointwise.py: `_unary_op`, `_binary_op`, `_backward_op`) or a launch wrapper (cuda.py);
its op sets (`UNARY_OPS`, `FLOAT_UNARY`, ...) are built from this list, and
tests/test_primitives.py runs every row on both backends and compares.

Kinds (how `backend` is called):
  unary     backend.unary(name, a)              elementwise, a's shape
  binary    backend.binary(name, a, b, alpha=1) elementwise, broadcast; b an array or a Python scalar
  reduce    backend.reduce(name, a, dims, keepdim)   dims a tuple, () meaning all
  backward  backend.<name>(g, x, *params)       a fused elementwise backward: one pass over the
                                                gradient g and the saved input or output x
  method    backend.<name>(...)                 anything else: a row may give its NumPy implementation
                                                (`numpy=`) and its Triton launch wrapper (`triton=
                                                "module.function"` in kernels/), which the backends
                                                take as they are; the older rows are written out
                                                in cpu.py and cuda.py (views, matmul, ...)

Dtype rules: "same" (operands share one dtype, the result has it), "float" (the same, floating
point only: ops promote integers first), "bool" (a bool result: not differentiable), "int" (the
same, integer and bool operands only: the bitwise ops).

The derivative formulas of ops/ are written with these names (the `F` vocabulary: `F.mul(g, y)`,
`F.sigmoid_backward(g, y)`), which ops/formulas.py turns into functions on arrays (from this list)
and on Tensors (from the op table), so that one formula serves both.
"""
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import (
    _npmath as NM,  # NOTE: erf and erfc, vectorized (NumPy has neither)
    cpu_math as CM,  # NOTE: the NumPy implementations of the math ops' method rows
    cpu_nn as NN,  # NOTE: and of scatter_reduce
    np_divmod as DM,  # NOTE: remainder, fmod and rounded division with PyTorch's semantics
)


class Prim(NamedTuple):
    name: str
    kind: str
    arity: int
    dtypes: str = "same"
    backward_of: str | None = None  # the op whose derivative this fused primitive computes
    numpy: Callable | None = None  # the CPU implementation (elementwise rows; optional for "method" rows)
    triton: str | None = None  # "module.function" in kernels/: the CUDA implementation of a "method" row


# NOTE: NumPy >= 2.3 takes `out=...` to return a 0-d array where a ufunc returns a NumPy scalar. A scalar
# costs each later ufunc that reads it 0.2-0.4 us (converted back), and a Tensor must hold an array
# (Tensor._make converts one): 0-d arithmetic (a Rosenbrock step) keeps arrays. Older NumPy: None, the default.
ARRAY = ... if np.lib.NumpyVersion(np.__version__) >= "2.3.0" else None


def _sigmoid(a):
    # NOTE: exp of a negative number only, so large |a| never overflows.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def _zero(g):
    return g.dtype.type(0)


_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _keep(keep, g):
    """np.where(keep, g, 0) for a float g, as bits: g & -keep. np.where branches on each element, and a
    ReLU's mask is random: 1M float32 took 3.8-4.2 ms that way against 0.26 ms here (64x100: 8-11 us
    against 3.4, the tutorial step's ClampBackward)."""
    if not (keep.__class__ is g.__class__ is np.ndarray and g.dtype.kind == "f" and keep.shape == g.shape):
        # NOTE: 0-d operands (NumPy scalars from comparisons), broadcasts, integers: np.where's own rules
        return np.where(keep, g, _zero(g))
    bits = _BITS[g.dtype.itemsize]
    out = keep.astype(bits)
    np.negative(out, out=out)  # NOTE: True -> all ones, False -> 0
    return np.bitwise_and(out, g.view(bits), out=out).view(g.dtype)


def _clamp_backward(g, x, lo, hi):
    if lo is None and hi is None:  # NOTE: clamp itself refuses this, but the primitive (both backends) passes g
        return g.copy()
    keep = x <= hi if lo is None else x >= lo
    if lo is not None and hi is not None:
        keep &= x <= hi
    return _keep(keep, g)


def _power(a, b, out=None, **kw):
    """np.power, with PyTorch's integer powers of negative exponents (NumPy raises, midway through `out`):
    1 for a base 1, +-1 for -1 by the exponent's parity, else 0. Called like the ufunc."""
    if np.asarray(b).dtype.kind not in "iu" or np.asarray(a).dtype.kind not in "iu" or not (np.asarray(b) < 0).any():
        return np.power(a, b, **kw) if out is None else np.power(a, b, out=out, **kw)
    neg = np.asarray(b) < 0
    r = np.power(a, np.where(neg, 0, b).astype(np.asarray(b).dtype))
    r = np.where(neg, np.where(a == 1, 1, np.where(a == -1, np.where(np.asarray(b) % 2 == 0, 1, -1), 0)), r)
    if out is None or out is ...:
        return np.asarray(r.astype(np.result_type(a, b), copy=False))
    out[...] = r
    return out


def _pow_backward(g, x, n):
    if n == 0:
        return np.zeros(np.broadcast_shapes(g.shape, x.shape), g.dtype)
    if n == 2:
        return np.multiply(g, np.add(x, x), out=ARRAY)  # NOTE: 2 * x**1, exactly
    return (g * (n * np.power(x, n - 1))).astype(g.dtype, copy=False)


_SQRT1_2, _SQRT_2_PI, _KAPPA = math.sqrt(0.5), math.sqrt(2 / math.pi), 0.044715


def _cdf(x):
    """The standard normal CDF of a float64 array: 0.5 * erfc(-x / sqrt(2)), which keeps its relative
    accuracy in the lower tail, where PyTorch's 0.5 * (1 + erf(x / sqrt(2))) cancels to 0."""
    return 0.5 * NM.erfc(x * -_SQRT1_2)


def _gelu(a):  # NOTE: in float64 for every float dtype, rounded once to a's
    x = a.astype(np.float64, copy=False)
    return (x * _cdf(x)).astype(a.dtype, copy=False)


def _gelu_backward(g, x):  # d/dx x * cdf(x) = cdf(x) + x * pdf(x)
    x = x.astype(np.float64, copy=False)
    pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
    return (g * (_cdf(x) + x * pdf)).astype(g.dtype, copy=False)


def _gelu_tanh(a):
    return (0.5 * a * (1 + np.tanh(_SQRT_2_PI * (a + _KAPPA * a * a * a)))).astype(a.dtype, copy=False)


def _gelu_tanh_backward(g, x):  # PyTorch's GeluBackward formula for approximate="tanh"
    t = np.tanh(_SQRT_2_PI * (x + _KAPPA * x * x * x))
    du = _SQRT_2_PI * (1 + 3 * _KAPPA * x * x)
    return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)).astype(g.dtype, copy=False)


def _sign(a):
    return np.sign(a) if a.dtype.kind != "f" else np.nan_to_num(np.sign(a), nan=0.0)  # NOTE: sign(nan) = 0, PyTorch's


def _float_of(fn):
    """A ufunc whose integer result would be float64 (NumPy) applied in a's own float dtype."""
    return lambda a: fn(a).astype(a.dtype, copy=False)


def _same_int(fn):
    """floor / ceil / trunc / round: integers are their own result (NumPy would give float64)."""
    return lambda a: fn(a) if a.dtype.kind == "f" else a.copy()


U, B, R, BWD, M = "unary", "binary", "reduce", "backward", "method"

PRIMITIVES = (
    # elementwise, one operand
    Prim("neg", U, 1, numpy=np.negative),
    Prim("exp", U, 1, "float", numpy=np.exp),
    Prim("log", U, 1, "float", numpy=np.log),
    Prim("sqrt", U, 1, "float", numpy=np.sqrt),
    Prim("abs", U, 1, numpy=np.abs),
    Prim("sign", U, 1, numpy=_sign),
    Prim("square", U, 1, numpy=np.square),
    Prim("sin", U, 1, "float", numpy=np.sin),
    Prim("cos", U, 1, "float", numpy=np.cos),
    Prim("reciprocal", U, 1, "float", numpy=np.reciprocal),
    Prim("tanh", U, 1, "float", numpy=np.tanh),
    Prim("relu", U, 1, numpy=lambda a: np.maximum(a, a.dtype.type(0))),
    Prim("sigmoid", U, 1, "float", numpy=_sigmoid),
    Prim("logical_not", U, 1, "bool", numpy=np.logical_not),
    Prim("log1p", U, 1, "float", numpy=np.log1p),
    Prim("expm1", U, 1, "float", numpy=np.expm1),
    Prim("gelu", U, 1, "float", numpy=_gelu),
    Prim("gelu_tanh", U, 1, "float", numpy=_gelu_tanh),
    # elementwise, two operands
    Prim("add", B, 2, numpy=np.add),
    Prim("sub", B, 2, numpy=np.subtract),
    Prim("mul", B, 2, numpy=np.multiply),
    Prim("div", B, 2, "float", numpy=np.true_divide),
    Prim("pow", B, 2, numpy=_power),
    Prim("maximum", B, 2, numpy=np.maximum),
    Prim("minimum", B, 2, numpy=np.minimum),
    Prim("eq", B, 2, "bool", numpy=np.equal),
    Prim("ne", B, 2, "bool", numpy=np.not_equal),
    Prim("lt", B, 2, "bool", numpy=np.less),
    Prim("le", B, 2, "bool", numpy=np.less_equal),
    Prim("gt", B, 2, "bool", numpy=np.greater),
    Prim("ge", B, 2, "bool", numpy=np.greater_equal),
    Prim("logical_and", B, 2, "bool", numpy=np.logical_and),
    Prim("logical_or", B, 2, "bool", numpy=np.logical_or),
    # fused elementwise backward: g is the gradient, x the saved input (or output y)
    Prim("threshold_backward", BWD, 2, "float", "relu",
         numpy=lambda g, x, threshold: _keep(~(x <= threshold), g)),  # NOTE: NaN x passes g, as PyTorch
    Prim("clamp_backward", BWD, 2, "float", "clamp", numpy=_clamp_backward),
    Prim("pow_backward", BWD, 2, "float", "pow", numpy=_pow_backward),
    Prim("sigmoid_backward", BWD, 2, "float", "sigmoid", numpy=lambda g, y: g * (y * (1 - y))),
    Prim("tanh_backward", BWD, 2, "float", "tanh", numpy=lambda g, y: g * (1 - y * y)),
    Prim("gelu_backward", BWD, 2, "float", "gelu", numpy=_gelu_backward),
    Prim("gelu_tanh_backward", BWD, 2, "float", "gelu_tanh", numpy=_gelu_tanh_backward),
    # reductions
    Prim("sum", R, 1),
    Prim("mean", R, 1, "float"),
    Prim("amax", R, 1),
    Prim("amin", R, 1),
    Prim("prod", R, 1),
    Prim("all", R, 1, "bool"),
    Prim("any", R, 1, "bool"),
    # written out by each backend
    Prim("where", M, 3),
    Prim("clamp", M, 1),
    Prim("matmul", M, 2),
    Prim("softmax", M, 1, "float"),
    Prim("log_softmax", M, 1, "float"),
    Prim("softmax_backward", M, 2, "float", "softmax"),
    Prim("log_softmax_backward", M, 2, "float", "log_softmax"),
    Prim("arg_reduce", M, 1),
    Prim("view", M, 1),
    Prim("permute", M, 1),
    Prim("expand", M, 1),
    Prim("broadcast", M, 1),
    Prim("index", M, 1),
    Prim("index_backward", M, 1, "same", "index"),
    Prim("contiguous", M, 1),
    Prim("astype", M, 1),
    Prim("is_contiguous", M, 1),
    Prim("strides", M, 1),
    Prim("owns_memory", M, 1),
    Prim("empty", M, 0),
    Prim("full", M, 0),
    Prim("arange", M, 0),
    Prim("rand", M, 0),
    Prim("randn", M, 0),
    Prim("from_numpy", M, 0),
    Prim("to_numpy", M, 1),
    Prim("binary_", M, 2),
    Prim("fill_", M, 1),
    Prim("copy_", M, 2),
    Prim("sgd_step", M, 3),
    Prim("adam_step", M, 5),
    # gathers and scatters along one dim, indexing, joining: kernels/index_ops.py on CUDA (over kernels/index.py),
    # NumPy in cpu.py (over the references of cpu_nn.py)
    Prim("index_select", M, 2, triton="index_ops.index_select"),
    Prim("index_select_backward", M, 2, "same", "index_select", triton="index_ops.index_select_backward"),
    Prim("index_put", M, 3, triton="index_ops.index_put"),
    Prim("gather", M, 2, triton="index_ops.gather"),
    Prim("gather_backward", M, 2, "same", "gather", triton="index_ops.gather_backward"),
    Prim("scatter", M, 3, triton="index_ops.scatter"),
    Prim("index_add_", M, 3, triton="index_ops.index_add_"),
    Prim("index_copy_", M, 3, triton="index_ops.index_copy_"),
    Prim("scatter_", M, 3, triton="index_ops.scatter_"),
    # (a, dim, index, src, reduce, include_self, check): a copy of a with src reduced in (deterministic)
    Prim("scatter_reduce", M, 3, numpy=NN.scatter_reduce, triton="scatter_reduce.scatter_reduce"),
    Prim("index_term", M, 2, triton="index_ops.index_term"),
    Prim("nonzero", M, 1, triton="index_ops.nonzero"),
    Prim("unravel", M, 1, triton="index_ops.unravel"),
    Prim("as_strided", M, 1, triton="index_ops.as_strided"),
    Prim("tril", M, 1, triton="index_ops.tril"),
    Prim("flip", M, 1, triton="index_ops.flip"),
    Prim("roll", M, 1, triton="index_ops.roll"),
    Prim("diagonal", M, 1, triton="index_ops.diagonal"),
    Prim("diag_embed", M, 1, triton="index_ops.diag_embed"),
    Prim("cat", M, 1, triton="index_ops.cat"),
    Prim("masked_fill_", M, 2, triton="index_ops.masked_fill_"),
    # random numbers (tritongrad/_cpu_random.py: PyTorch's CPU stream; kernels/random.py: Philox)
    Prim("random_", M, 1),
    Prim("multinomial", M, 1),
    Prim("randperm", M, 0),
    # math (ops/math.py, ops/stats.py, ops/sort.py)
    Prim("tan", U, 1, "float", numpy=np.tan),
    Prim("asin", U, 1, "float", numpy=np.arcsin),
    Prim("acos", U, 1, "float", numpy=np.arccos),
    Prim("atan", U, 1, "float", numpy=np.arctan),
    Prim("sinh", U, 1, "float", numpy=np.sinh),
    Prim("cosh", U, 1, "float", numpy=np.cosh),
    Prim("log2", U, 1, "float", numpy=np.log2),
    Prim("log10", U, 1, "float", numpy=np.log10),
    Prim("exp2", U, 1, "float", numpy=np.exp2),
    Prim("rsqrt", U, 1, "float", numpy=lambda a: np.reciprocal(np.sqrt(a))),
    Prim("erf", U, 1, "float", numpy=NM.erf),
    Prim("floor", U, 1, numpy=_same_int(np.floor)),
    Prim("ceil", U, 1, numpy=_same_int(np.ceil)),
    Prim("trunc", U, 1, numpy=_same_int(np.trunc)),
    Prim("round", U, 1, numpy=_same_int(np.round)),  # NOTE: half to even, as PyTorch
    Prim("frac", U, 1, "float", numpy=lambda a: a - np.trunc(a)),
    Prim("isnan", U, 1, "bool", numpy=np.isnan),
    Prim("isinf", U, 1, "bool", numpy=np.isinf),
    Prim("isfinite", U, 1, "bool", numpy=np.isfinite),
    Prim("atan2", B, 2, "float", numpy=np.arctan2),
    Prim("bitwise_and", B, 2, "int", numpy=np.bitwise_and),
    Prim("bitwise_or", B, 2, "int", numpy=np.bitwise_or),
    Prim("bitwise_xor", B, 2, "int", numpy=np.bitwise_xor),
    Prim("remainder", B, 2, numpy=DM.remainder),
    Prim("fmod", B, 2, numpy=DM.fmod),
    Prim("div_floor", B, 2, numpy=DM.div_floor),
    Prim("div_trunc", B, 2, numpy=DM.div_trunc),
    # (a, ord, dims, keepdim), ord 1, 2 or inf
    Prim("vector_norm", M, 1, "float", numpy=CM.vector_norm, triton="mathops.vector_norm"),
    # (a, dims, correction, keepdim, sqrt): var, or std with sqrt
    Prim("var", M, 1, "float", numpy=CM.var, triton="mathops.var"),
    # (a, dim, reverse)
    Prim("cumsum", M, 1, numpy=CM.cumsum, triton="mathops.cumsum"),
    # (a, dim, descending, k) -> (values, int64 indices) of the first k
    Prim("sort", M, 1, numpy=CM.sort, triton="sort.sort"),
    # (a, b, w): a + w * (b - a); w an array or a Python scalar
    Prim("lerp", M, 3, "float", numpy=CM.lerp, triton="mathops.lerp"),
    # (a) -> (U, S, Vh), the reduced SVD (ops/svd.py); CUDA: one-sided Jacobi, small matrices only (kernels/linalg.py)
    Prim("svd", M, 1, "float", numpy=CM.svd, triton="linalg.svd"),
    # (a, nan, posinf, neginf)
    Prim("nan_to_num", M, 1, numpy=CM.nan_to_num, triton="mathops.nan_to_num"),
    # transformer layers (ops/nn.py): fused, several outputs; NumPy references in cpu_nn.py
    Prim("embedding", M, 2),
    Prim("embedding_backward", M, 2, "same", "embedding"),
    Prim("layer_norm", M, 3, "float"),
    Prim("layer_norm_backward", M, 6, "float", "layer_norm"),
    Prim("attention", M, 4, "float"),
    Prim("attention_backward", M, 7, "float", "attention"),
    Prim("attention_unsupported", M, 4),
)

BY_NAME = {p.name: p for p in PRIMITIVES}


def names(kind, dtypes=None):
    """The names of the rows of one kind (and one dtype rule), in the list's order."""
    return tuple(p.name for p in PRIMITIVES if p.kind == kind and (dtypes is None or p.dtypes == dtypes))
