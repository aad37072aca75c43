"""Op table rows: elementwise arithmetic with broadcasting and Python scalars, activations, clamp,
where (see ops/table.py for the vocabulary and how to add an op).

Fused backward primitives (relu's and clamp's masks, pow's n*x**(n-1), sigmoid's and tanh's) are
ops themselves (`fused`), one backend pass each, with their own derivative for higher orders.
"""
import math

from ..autograd.saved_attrs import slot_or_number
from . import util
from .table import Op, fused, provides, unary


def _arr(b):
    return b._data if isinstance(b, util.Tensor) else b


def _shapes(a, b):
    """What backward needs to undo broadcasting in `a op b`: both shapes, or None when they are one."""
    sa, sb = a._data.shape, b._data.shape if isinstance(b, util.Tensor) else ()
    return None if sa == sb else (sa, sb)


def _unbroadcast(F, ctx, ga, gb):
    """The gradients of a binary op's inputs (or None) summed back to their shapes (see `_shapes`)."""
    if ctx.shapes is None:
        return ga, gb
    sa, sb = ctx.shapes
    return None if ga is None else F.sum_to(ga, sa), None if gb is None else F.sum_to(gb, sb)


class Add(Op):
    node_name = "AddBackward0"
    primitive = "add"
    saved_as = {"alpha": "alpha"}
    _n_inputs = 2

    @staticmethod
    def forward(a, b, alpha=1):
        return a._be.binary("add", a._data, _arr(b), alpha)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b, *alpha = inputs
        ctx.alpha = alpha[0] if alpha else 1
        ctx.shapes = _shapes(a, b)

    @staticmethod
    def formula(ctx, F, g):
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, g if na else None, (F.mul(g, ctx.alpha) if ctx.alpha != 1 else g) if nb else None)


class Sub(Op):
    node_name = "SubBackward0"
    primitive = "sub"
    saved_as = {"alpha": "alpha"}
    _n_inputs = 2

    @staticmethod
    def forward(a, b, alpha=1):
        return a._be.binary("sub", a._data, _arr(b), alpha)

    setup_context = Add.setup_context

    @staticmethod
    def formula(ctx, F, g):
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, g if na else None,
                            (F.mul(F.neg(g), ctx.alpha) if ctx.alpha != 1 else F.neg(g)) if nb else None)


class Rsub(Op):
    """scalar - a"""

    node_name = "RsubBackward1"
    saved_as = {"alpha": lambda node: 1}
    _n_inputs = 1

    @staticmethod
    def forward(a, s):
        return a._be.rbinary("sub", s, a._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        pass

    @staticmethod
    def formula(ctx, F, g):
        return F.neg(g)


class Mul(Op):
    node_name = "MulBackward0"
    primitive = "mul"
    saved_as = {"other": slot_or_number(1, "scalar"), "self": 0}  # NOTE: PyTorch saves (packs) other first
    _n_inputs = 2

    @staticmethod
    def forward(a, b):
        return a._be.binary("mul", a._data, _arr(b))

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b = inputs
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na and isinstance(b, util.Tensor) else None)
        ctx.scalar = None if isinstance(b, util.Tensor) else b  # NOTE: tensors go through saved_tensors
        ctx.shapes = _shapes(a, b)

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, F.mul(g, ctx.scalar if b is None else b) if na else None,
                            F.mul(g, a) if nb else None)


class Div(Op):
    node_name = "DivBackward0"
    primitive = "div"
    saved_as = {"other": slot_or_number(1, "scalar"), "self": 0}
    _n_inputs = 2

    @staticmethod
    def forward(a, b):
        return a._be.binary("div", a._data, _arr(b))

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b = inputs
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if isinstance(b, util.Tensor) else None)
        ctx.scalar = None if isinstance(b, util.Tensor) else b  # NOTE: tensors go through saved_tensors
        ctx.shapes = _shapes(a, b)

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        if b is None:
            return F.div(g, ctx.scalar), None
        return _unbroadcast(F, ctx, F.div(g, b) if na else None,
                            F.div(F.mul(F.neg(g), a), F.mul(b, b)) if nb else None)


class Pow(Op):
    """a ** n for a Python scalar n."""

    node_name = "PowBackward0"
    saved_as = {"exponent": "n", "self": 0}
    _n_inputs = 1

    @staticmethod
    def forward(a, n):
        return a._be.binary("pow", a._data, n)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(inputs[0])
        ctx.n = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        (a,) = F.saved(ctx)
        return F.pow_backward(g, a, ctx.n)


class PowTensor(Op):
    """a ** b for a tensor exponent."""

    node_name = "PowBackward1"
    saved_as = {"exponent": 1, "self": 0, "result": -1}
    _n_inputs = 2
    _save_output = True

    @staticmethod
    def forward(a, b):
        return a._be.binary("pow", a._data, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b = inputs
        ctx.save_for_backward(a, b)
        ctx.shapes = (a._data.shape, b._data.shape)

    @staticmethod
    def formula(ctx, F, g):
        a, b, y = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        # NOTE: 0 where b == 0 (0 ** 0 included: not 0 * inf), as in PyTorch
        da = F.sum_to(F.where(F.eq(b, 0), 0, F.mul(F.mul(g, b), F.pow(a, F.sub(b, 1)))), sa) if na else None
        # NOTE: 0 ** b with b >= 0 has a zero gradient in b, not nan (log 0 * 0), as in PyTorch.
        db = F.sum_to(F.where(F.logical_and(F.eq(a, 0), F.ge(b, 0)), 0, F.mul(F.mul(g, y), F.log(a))), sb) \
            if nb else None
        return da, db


provides("pow", lambda a, b: (PowTensor if isinstance(b, util.Tensor) else Pow).apply(a, b))


class RPow(Op):
    """scalar ** b."""

    node_name = "PowBackward2"
    saved_as = {"self": "s", "result": -1}
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(b, s):
        return b._be.rbinary("pow", s, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.s = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        (y,) = F.saved(ctx)
        if ctx.s != 0:  # NOTE: log of a negative base is NaN, as PyTorch's (math.log raises)
            return F.mul(F.mul(g, y), math.log(ctx.s) if ctx.s > 0 else math.nan)
        # NOTE: base 0: PyTorch's g * y * log(0), zeroed where the exponent is >= 0, i.e. where y is
        # finite (0 or 1): an exponent < 0 (y = +-inf) or NaN keeps -inf * y.
        keep = F.logical_or(F.eq(F.abs(y), math.inf), F.ne(y, y))
        return F.where(keep, F.mul(F.mul(g, y), -math.inf), 0)


Neg = unary("neg", "NegBackward0", "", lambda F, g, x, y: F.neg(g))
Exp = unary("exp", "ExpBackward0", "y", lambda F, g, x, y: F.mul(g, y))
Log = unary("log", "LogBackward0", "x", lambda F, g, x, y: F.div(g, x))
Sqrt = unary("sqrt", "SqrtBackward0", "y", lambda F, g, x, y: F.div(g, F.mul(y, 2)))
Abs = unary("abs", "AbsBackward0", "x", lambda F, g, x, y: F.mul(g, F.sign(x)))
Sin = unary("sin", "SinBackward0", "x", lambda F, g, x, y: F.mul(g, F.cos(x)))
Cos = unary("cos", "CosBackward0", "x", lambda F, g, x, y: F.mul(F.neg(g), F.sin(x)))
Reciprocal = unary("reciprocal", "ReciprocalBackward0", "y", lambda F, g, x, y: F.mul(F.mul(F.neg(g), y), y))
Relu = unary("relu", "ReluBackward0", "y", lambda F, g, x, y: F.threshold_backward(g, y, 0))
Sigmoid = unary("sigmoid", "SigmoidBackward0", "y", lambda F, g, x, y: F.sigmoid_backward(g, y))
Tanh = unary("tanh", "TanhBackward0", "y", lambda F, g, x, y: F.tanh_backward(g, y))
Sign = unary("sign", "SignBackward0", "", lambda F, g, x, y: F.mul(g, 0))
Log1p = unary("log1p", "Log1PBackward0", "x", lambda F, g, x, y: F.div(g, F.add(x, 1)))
Expm1 = unary("expm1", "Expm1Backward0", "y", lambda F, g, x, y: F.mul(g, F.add(y, 1)))
Gelu = unary("gelu", "GeluBackward0", "x", lambda F, g, x, y: F.gelu_backward(g, x))
GeluTanh = unary("gelu_tanh", "GeluBackward0", "x", lambda F, g, x, y: F.gelu_tanh_backward(g, x))

# Fused backward primitives: d/dg is the primitive itself on the incoming gradient; d/dx (d/dy) below.
ThresholdBackward = fused("threshold_backward", "ThresholdBackwardBackward0",
                          lambda F, gg, g, x, t: (F.threshold_backward(gg, x, t), None))
ClampBackward = fused("clamp_backward", "ClampBackwardBackward0",
                      lambda F, gg, g, x, lo, hi: (F.clamp_backward(gg, x, lo, hi), None))
PowBackward = fused("pow_backward", "PowBackwardBackward0",
                    lambda F, gg, g, a, n: (F.pow_backward(gg, a, n),
                                            F.mul(F.pow_backward(F.mul(gg, g), a, n - 1), n) if n != 0 else None))
SigmoidBackward = fused("sigmoid_backward", "SigmoidBackwardBackward0",  # d/dy: gg * g * (1 - 2y)
                        lambda F, gg, g, y: (F.sigmoid_backward(gg, y), F.mul(F.mul(gg, g), F.add(F.mul(y, -2), 1))))
TanhBackward = fused("tanh_backward", "TanhBackwardBackward0",  # d/dy: -2 gg g y
                     lambda F, gg, g, y: (F.tanh_backward(gg, y), F.mul(F.mul(F.mul(gg, g), y), -2)))
GeluBackward = fused("gelu_backward", "GeluBackwardBackward0",
                     lambda F, gg, g, x: (F.gelu_backward(gg, x), F.mul(F.mul(gg, g), _gelu2(F, x))))
GeluTanhBackward = fused("gelu_tanh_backward", "GeluBackwardBackward0",
                         lambda F, gg, g, x: (F.gelu_tanh_backward(gg, x), F.mul(F.mul(gg, g), _gelu_tanh2(F, x))))


def _gelu2(F, x):
    """gelu''(x) = pdf(x) * (2 - x**2)."""
    x2 = F.mul(x, x)
    return F.mul(F.mul(F.exp(F.mul(x2, -0.5)), 1 / math.sqrt(2 * math.pi)), F.add(F.neg(x2), 2))


def _gelu_tanh2(F, x):
    """f'' of f = x (1 + tanh(u)) / 2, u = beta (x + kappa x**3): (1 - t**2) (u' + x (u'' - 2 t u'**2) / 2)."""
    beta, kappa = math.sqrt(2 / math.pi), 0.044715
    x2 = F.mul(x, x)
    t = F.tanh(F.mul(F.add(x, F.mul(F.mul(x2, x), kappa)), beta))
    du = F.mul(F.add(F.mul(x2, 3 * kappa), 1), beta)
    inner = F.sub(F.mul(x, 6 * beta * kappa), F.mul(F.mul(t, 2), F.mul(du, du)))
    return F.mul(F.add(F.neg(F.mul(t, t)), 1), F.add(du, F.mul(F.mul(x, 0.5), inner)))


def gelu(input, *, approximate="none"):
    """x * Phi(x) (Phi: the standard normal CDF), or with approximate="tanh" its tanh approximation, as
    torch.nn.functional.gelu."""
    if not isinstance(approximate, str):
        raise TypeError(f"gelu(): argument 'approximate' must be str, not {type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not input._dtype.is_floating_point:
        from .inplace import _SCALAR_NAMES

        raise NotImplementedError(f'"GeluKernelImpl" not implemented for \'{_SCALAR_NAMES[input._dtype.name]}\'')
    return (Gelu if approximate == "none" else GeluTanh).apply(input)


class Clamp(Op):
    node_name = "ClampBackward1"
    primitive = "clamp"
    saved_as = {"max": "hi", "min": "lo", "self": 0}
    _n_inputs = 1

    @staticmethod
    def forward(a, lo, hi):
        return a._be.clamp(a._data, lo, hi)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.lo, ctx.hi = inputs
        ctx.save_for_backward(a)

    @staticmethod
    def formula(ctx, F, g):
        (a,) = F.saved(ctx)
        return F.clamp_backward(g, a, ctx.lo, ctx.hi)


class ClampMin(Clamp):
    node_name = "ClampMinBackward0"
    saved_as = {"min": "lo", "self": 0}


class ClampMax(Clamp):
    node_name = "ClampMaxBackward0"
    saved_as = {"max": "hi", "self": 0}


class ClampTensor(Op):
    """clamp with tensor bounds (either may be None). At a tie the gradient stays with x, as in PyTorch."""

    node_name = "ClampBackward0"
    saved_as = {"max": 2, "min": 1, "self": 0}
    _n_inputs = 3

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)
        ctx.shapes = tuple(None if t is None else t._data.shape for t in inputs)

    @staticmethod
    def forward(a, lo, hi):
        be, out = a._be, a._data
        if lo is not None:
            out = be.binary("maximum", out, lo._data)
        if hi is not None:
            out = be.binary("minimum", out, hi._data)
        return out

    @staticmethod
    def formula(ctx, F, g):
        a, lo, hi = F.saved(ctx)
        na, nlo, nhi = ctx.needs_input_grad
        sa, slo, shi = ctx.shapes
        ga = glo = ghi = None
        if na:
            keep = F.ge(a, lo) if lo is not None else None
            if hi is not None:
                keep = F.le(a, hi) if keep is None else F.logical_and(keep, F.le(a, hi))
            ga = F.sum_to(F.where(keep, g, 0), sa)
        if nlo:  # NOTE: where lo > hi the output is hi: lo gets nothing (PyTorch's clamp_backward_min_max)
            below = F.lt(a, lo) if hi is None else F.logical_and(F.lt(a, lo), F.lt(lo, hi))
            glo = F.sum_to(F.where(below, g, 0), slo)
        if nhi:
            above = F.gt(a, hi) if lo is None else F.logical_or(F.gt(a, hi), F.lt(hi, lo))
            ghi = F.sum_to(F.where(above, g, 0), shi)
        return ga, glo, ghi


class ClampMinTensor(ClampTensor):
    node_name = "ClampMinBackward1"


class ClampMaxTensor(ClampTensor):
    node_name = "ClampMaxBackward1"


class Where(Op):
    """where(cond, a, b); a or b may be a Python scalar (formulas: `F.where(mask, g, 0)`)."""

    node_name = "WhereBackward0"
    saved_as = {"condition": 0}
    primitive = "where"
    _n_inputs = 3

    @staticmethod
    def forward(cond, a, b):
        shapes = (cond._data.shape, _shape(a), _shape(b))
        if not shapes[0] == shapes[1] == shapes[2]:
            util.broadcast_shapes(*shapes)  # NOTE: PyTorch's message, not NumPy's, on a mismatch
        return cond._be.where(cond._data, _arr(a), _arr(b))

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(inputs[0])
        ctx.shapes = tuple(_shape(t) for t in inputs)

    @staticmethod
    def formula(ctx, F, g):
        (cond,) = F.saved(ctx)
        _, na, nb = ctx.needs_input_grad
        _, sa, sb = ctx.shapes
        return (None, F.sum_to(F.where(cond, g, 0), sa) if na else None,
                F.sum_to(F.where(cond, 0, g), sb) if nb else None)


def _shape(t):
    return t._data.shape if isinstance(t, util.Tensor) else ()


def _minmax(op, node, loses):
    def forward(a, b):
        return a._be.binary(op, a._data, b._data)

    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)
        ctx.shapes = (inputs[0]._data.shape, inputs[1]._data.shape)

    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        # NOTE: PyTorch's formula: ties split the gradient in half; the loser gets 0; where a NaN is
        # involved neither side loses, so both get the whole gradient.
        half = F.where(F.eq(a, b), F.mul(g, 0.5), g)
        return (F.sum_to(F.where(getattr(F, loses)(a, b), 0, half), sa) if na else None,
                F.sum_to(F.where(getattr(F, loses)(b, a), 0, half), sb) if nb else None)

    return type(op.capitalize(), (Op,), {"node_name": node, "_n_inputs": 2, "primitive": op,
                                         "saved_as": {"other": 1, "self": 0},
                                         "forward": staticmethod(forward), "formula": staticmethod(formula),
                                         "setup_context": staticmethod(setup_context)})


Maximum = _minmax("maximum", "MaximumBackward0", "lt")
Minimum = _minmax("minimum", "MinimumBackward0", "gt")


def _no_grad_binary(op):
    """F.<op> on Tensors for a bool-valued primitive (a comparison, logical_and): no gradient, no node."""

    def fn(a, b):
        return a._make(a._be.binary(op, a._data, _arr(b)))

    return fn


for _op in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"):
    provides(_op, _no_grad_binary(_op))
