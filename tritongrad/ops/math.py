"""Op table rows: trigonometric, hyperbolic, logarithmic and rounding functions, erf, rsqrt, atan2, lerp,
nan_to_num (see ops/table.py for the vocabulary and how to add an op). The tests isnan / isinf /
isfinite and the bitwise ops give bool or integer results: no gradient, F names only.
"""
import math

from .. import _dtype as dt
from . import util
from .elementwise import _arr, _shapes, _unbroadcast
from .table import Op, provides, unary

_LN2, _LN10 = math.log(2), math.log(10)


def _one_minus_square(F, x):
    return F.add(F.neg(F.mul(x, x)), 1)


Tan = unary("tan", "TanBackward0", "y", lambda F, g, x, y: F.mul(g, F.add(F.mul(y, y), 1)))
Asin = unary("asin", "AsinBackward0", "x", lambda F, g, x, y: F.mul(g, F.rsqrt(_one_minus_square(F, x))))
Acos = unary("acos", "AcosBackward0", "x", lambda F, g, x, y: F.mul(F.neg(g), F.rsqrt(_one_minus_square(F, x))))
Atan = unary("atan", "AtanBackward0", "x", lambda F, g, x, y: F.div(g, F.add(F.mul(x, x), 1)))
Sinh = unary("sinh", "SinhBackward0", "x", lambda F, g, x, y: F.mul(g, F.cosh(x)))
Cosh = unary("cosh", "CoshBackward0", "x", lambda F, g, x, y: F.mul(g, F.sinh(x)))
Log2 = unary("log2", "Log2Backward0", "x", lambda F, g, x, y: F.div(g, F.mul(x, _LN2)))
Log10 = unary("log10", "Log10Backward0", "x", lambda F, g, x, y: F.div(g, F.mul(x, _LN10)))
Exp2 = unary("exp2", "Exp2Backward0", "y", lambda F, g, x, y: F.mul(F.mul(g, y), _LN2))
Rsqrt = unary("rsqrt", "RsqrtBackward0", "y",  # d/dx x ** -0.5 = -0.5 y ** 3
              lambda F, g, x, y: F.mul(F.mul(g, F.mul(F.mul(y, y), y)), -0.5))
Erf = unary("erf", "ErfBackward0", "x",
            lambda F, g, x, y: F.mul(g, F.mul(F.exp(F.neg(F.mul(x, x))), 2 / math.sqrt(math.pi))))
# NOTE: piecewise constant: a zero gradient (PyTorch's zeros_like(grad))
Floor = unary("floor", "FloorBackward0", "", lambda F, g, x, y: F.mul(g, 0))
Ceil = unary("ceil", "CeilBackward0", "", lambda F, g, x, y: F.mul(g, 0))
Round = unary("round", "RoundBackward0", "", lambda F, g, x, y: F.mul(g, 0))
Trunc = unary("trunc", "TruncBackward0", "", lambda F, g, x, y: F.mul(g, 0))


class RoundDecimals(Op):
    """round(x, decimals=d) (any d, 0 included, gives PyTorch's RoundBackward1): x * 10^d rounded, / 10^d;
    for d < 0 PyTorch divides by 10^-d first (exact powers of ten, the same halves to even)."""

    node_name = "RoundBackward1"
    _n_inputs = 1

    @staticmethod
    def forward(x, decimals):
        be, p, a, half = x._be, 10.0 ** abs(decimals), x._data, x._dtype.itemsize == 2
        if half:  # NOTE: PyTorch computes in float32 for float16 / bfloat16 (1.55 -> 1.5, not 1.6)
            a = be.astype(a, dt.float32)
        if decimals > 0:
            a = be.binary("div", be.unary("round", be.binary("mul", a, p)), p)
        else:
            a = be.binary("mul", be.unary("round", be.binary("div", a, p)), p)
        return be.astype(a, x._dtype) if half else a

    @staticmethod
    def setup_context(ctx, inputs, out):
        pass

    @staticmethod
    def formula(ctx, F, g):
        return F.mul(g, 0)
Frac = unary("frac", "FracBackward0", "", lambda F, g, x, y: g)


def _no_grad(kind, op):
    """F.<op> on Tensors for a primitive with a bool or integer result: no gradient, no node."""
    if kind == "unary":
        def fn(a):
            return a._make(a._be.unary(op, a._data))
    else:
        def fn(a, b):
            return a._make(a._be.binary(op, a._data, _arr(b)))
    return fn


for _op in ("isnan", "isinf", "isfinite"):
    provides(_op, _no_grad("unary", _op))
for _op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    provides(_op, _no_grad("binary", _op))


class Atan2(Op):
    """atan2(a, b): the angle of the point (b, a)."""

    node_name = "Atan2Backward0"
    primitive = "atan2"
    _n_inputs = 2

    @staticmethod
    def forward(a, b):
        return a._be.binary("atan2", a._data, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)
        ctx.shapes = _shapes(*inputs)

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        r = F.div(g, F.add(F.mul(a, a), F.mul(b, b)))  # g / (a**2 + b**2)
        return _unbroadcast(F, ctx, F.mul(r, b) if na else None, F.mul(F.neg(r), a) if nb else None)


class Lerp(Op):
    """lerp(a, b, w) = a + w * (b - a) for a Python number w."""

    node_name = "LerpBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, b, w):
        return a._be.lerp(a._data, b._data, w)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b, ctx.w = inputs
        ctx.shapes = _shapes(a, b)

    @staticmethod
    def formula(ctx, F, g):
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, F.mul(g, 1 - ctx.w) if na else None, F.mul(g, ctx.w) if nb else None)


class LerpTensor(Op):
    """lerp(a, b, w) for a tensor w (all three broadcast)."""

    node_name = "LerpBackward1"
    _n_inputs = 3

    @staticmethod
    def forward(a, b, w):
        return a._be.lerp(a._data, b._data, w._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b, w = inputs
        na, nb, nw = ctx.needs_input_grad
        ctx.save_for_backward(a if nw else None, b if nw else None, w if na or nb else None)
        ctx.shapes = tuple(t._data.shape for t in inputs)

    @staticmethod
    def formula(ctx, F, g):
        a, b, w = F.saved(ctx)
        na, nb, nw = ctx.needs_input_grad
        sa, sb, sw = ctx.shapes
        return (F.sum_to(F.mul(g, F.add(F.neg(w), 1)), sa) if na else None,
                F.sum_to(F.mul(g, w), sb) if nb else None,
                F.sum_to(F.mul(g, F.sub(b, a)), sw) if nw else None)


class NanToNum(Op):
    node_name = "NanToNumBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(a, nan, posinf, neginf):
        return a._be.nan_to_num(a._data, nan, posinf, neginf)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def formula(ctx, F, g):
        (a,) = F.saved(ctx)
        return F.where(F.isfinite(a), g, 0)  # NOTE: PyTorch's grad * isfinite(self)


def lerp(input, end, weight):
    """input + weight * (end - input), PyTorch's lerp (weight a number or a tensor; all broadcast)."""
    if end._dtype is not input._dtype:
        raise RuntimeError(f"expected dtype {_c(input)} for `end` but got dtype {_c(end)}")
    util.check_device(input, end)
    if isinstance(weight, util.Tensor):
        util.check_device(input, weight)
        if weight._dtype is not input._dtype:
            raise RuntimeError(f"expected dtype {_c(input)} for `weight` but got dtype {_c(weight)}")
        util.broadcast_shapes(input.shape, end.shape, weight.shape)
        return LerpTensor.apply(input, end, weight)
    util.broadcast_shapes(input.shape, end.shape)
    return Lerp.apply(input, end, weight)


def _c(t):
    """A dtype as PyTorch's lerp message names it (float, double, half, ...)."""
    return {"float32": "float", "float64": "double", "float16": "half", "bfloat16": "bfloat16"}.get(
        t._dtype.name, t._dtype.name)
