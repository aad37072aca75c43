"""Elementwise ops: arithmetic with broadcasting and Python scalars, activations, clamp, where.

Fused backward formulas (relu's and clamp's masks, pow's n*x**(n-1), sigmoid's and tanh's) are
ops themselves, one backend pass each, with their own backward for higher-order gradients.
"""
from . import util
from .util import Op, sum_to


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


class PowGrad(Op):
    """g * n * a ** (n - 1): pow's backward in one pass."""

    node_name = "PowBackwardBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, a, n):
        return g._be.pow_backward(g._data, a._data, n)

    @staticmethod
    def setup_context(ctx, inputs, out):
        g, a, ctx.n = inputs
        ctx.save_for_backward(g, a)

    @staticmethod
    def backward(ctx, gg):
        g, a = ctx.saved_tensors
        n = ctx.n
        dg = PowGrad.apply(gg, a, n) if ctx.needs_input_grad[0] else None
        da = PowGrad.apply(gg * g, a, n - 1) * n if ctx.needs_input_grad[1] and n != 0 else None
        return dg, da


class PowTensor(Op):
    """a ** b for a tensor exponent."""

    node_name = "PowBackward1"
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
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        da = sum_to(g * b * a ** (b - 1), sa) if na else None
        # NOTE: 0 ** b with b >= 0 has a zero gradient in b, not nan (log 0 * 0), as in PyTorch.
        db = sum_to(Where.apply((a == 0) & (b >= 0), g.new_zeros(()), g * y * a.log()), sb) if nb else None
        return da, db


class RPow(Op):
    """scalar ** b."""

    node_name = "PowBackward2"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(b, s):
        return b._be.rbinary("pow", s, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.s = inputs[1]

    @staticmethod
    def backward(ctx, g):
        import math

        (y,) = ctx.saved_tensors
        return g * y * math.log(ctx.s) if ctx.s != 0 else g * 0


def _unary(name, node, save_input=False, save_output=False, grad=None):
    """An op `y = name(x)` whose derivative formula (ops/formulas.py) is `grad(F, g, x_or_None, y_or_None)`."""

    def forward(a):
        return a._be.unary(name, a._data)

    def setup_context(ctx, inputs, out):
        if save_input:
            ctx.save_for_backward(inputs[0])

    def formula(ctx, F, g):
        saved = F.saved(ctx) if save_input or save_output else None
        return grad(F, g, saved[0] if save_input else None, saved[-1] if save_output else None)

    return type(name.capitalize(), (Op,), {"node_name": node, "_save_output": save_output, "_n_inputs": 1,
                                           "forward": staticmethod(forward), "formula": staticmethod(formula),
                                           "setup_context": staticmethod(setup_context)})


Neg = _unary("neg", "NegBackward0", grad=lambda F, g, x, y: F.neg(g))
Exp = _unary("exp", "ExpBackward0", save_output=True, grad=lambda F, g, x, y: F.mul(g, y))
Log = _unary("log", "LogBackward0", save_input=True, grad=lambda F, g, x, y: F.div(g, x))
Sqrt = _unary("sqrt", "SqrtBackward0", save_output=True, grad=lambda F, g, x, y: F.div(g, F.mul(y, 2)))
Abs = _unary("abs", "AbsBackward0", save_input=True, grad=lambda F, g, x, y: F.mul(g, F.unary("sign", x)))
Sin = _unary("sin", "SinBackward0", save_input=True, grad=lambda F, g, x, y: F.mul(g, F.unary("cos", x)))
Cos = _unary("cos", "CosBackward0", save_input=True, grad=lambda F, g, x, y: F.mul(F.neg(g), F.unary("sin", x)))
Reciprocal = _unary("reciprocal", "ReciprocalBackward0", save_output=True,
                    grad=lambda F, g, x, y: F.mul(F.mul(F.neg(g), y), y))
Relu = _unary("relu", "ReluBackward0", save_output=True, grad=lambda F, g, x, y: F.threshold_backward(g, y, 0))
Sigmoid = _unary("sigmoid", "SigmoidBackward0", save_output=True, grad=lambda F, g, x, y: F.sigmoid_backward(g, y))
Tanh = _unary("tanh", "TanhBackward0", save_output=True, grad=lambda F, g, x, y: F.tanh_backward(g, y))
Sign = _unary("sign", "SignBackward0", grad=lambda F, g, x, y: F.mul(g, 0))


class ThresholdGrad(Op):
    """g where x > threshold, else 0: relu's backward in one pass."""

    node_name = "ThresholdBackwardBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, x, threshold):
        return g._be.threshold_backward(g._data, x._data, threshold)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, x, ctx.threshold = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return ThresholdGrad.apply(gg, x, ctx.threshold), None


class SigmoidGrad(Op):
    """g * y * (1 - y): sigmoid's backward in one pass."""

    node_name = "SigmoidBackwardBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, y):
        return g._be.sigmoid_backward(g._data, y._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        return SigmoidGrad.apply(gg, y), gg * g * (1 - 2 * y)


class TanhGrad(Op):
    """g * (1 - y * y): tanh's backward in one pass."""

    node_name = "TanhBackwardBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, y):
        return g._be.tanh_backward(g._data, y._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        return TanhGrad.apply(gg, y), -2 * gg * g * y


class Clamp(Op):
    node_name = "ClampBackward1"
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


class ClampMax(Clamp):
    node_name = "ClampMaxBackward0"


class ClampGrad(Op):
    """g where lo <= x <= hi, else 0: clamp's backward in one pass."""

    node_name = "ClampBackwardBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, x, lo, hi):
        return g._be.clamp_backward(g._data, x._data, lo, hi)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, x, ctx.lo, ctx.hi = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return ClampGrad.apply(gg, x, ctx.lo, ctx.hi), None


class ClampTensor(Op):
    """clamp with tensor bounds (either may be None). At a tie the gradient stays with x, as in PyTorch."""

    node_name = "ClampBackward0"
    _n_inputs = 3

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def forward(a, lo, hi):
        be, out = a._be, a._data
        if lo is not None:
            out = be.binary("maximum", out, lo._data)
        if hi is not None:
            out = be.binary("minimum", out, hi._data)
        return out

    @staticmethod
    def backward(ctx, g):
        a, lo, hi = ctx.saved_tensors
        na, nlo, nhi = ctx.needs_input_grad
        zero = g.new_zeros(())
        ga = glo = ghi = None
        if na:
            keep = a >= lo if lo is not None else None
            if hi is not None:
                keep = a <= hi if keep is None else keep & (a <= hi)
            ga = sum_to(Where.apply(keep, g, zero), a.shape)
        if nlo:  # NOTE: where lo > hi the output is hi: lo gets nothing (PyTorch's clamp_backward_min_max)
            below = a < lo if hi is None else (a < lo) & (lo < hi)
            glo = sum_to(Where.apply(below, g, zero), lo.shape)
        if nhi:
            above = a > hi if lo is None else (a > hi) | (hi < lo)
            ghi = sum_to(Where.apply(above, g, zero), hi.shape)
        return ga, glo, ghi


class ClampMinTensor(ClampTensor):
    node_name = "ClampMinBackward1"


class ClampMaxTensor(ClampTensor):
    node_name = "ClampMaxBackward1"


class Where(Op):
    node_name = "WhereBackward0"
    _n_inputs = 3

    @staticmethod
    def forward(cond, a, b):
        shapes = (cond._data.shape, a._data.shape, b._data.shape)
        if not shapes[0] == shapes[1] == shapes[2]:
            util.broadcast_shapes(*shapes)  # NOTE: PyTorch's message, not NumPy's, on a mismatch
        return a._be.where(cond._data, a._data, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(inputs[0])
        ctx.shapes = tuple(t._data.shape for t in inputs)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        _, sa, sb = ctx.shapes
        zero = g.new_zeros(())
        return (None, sum_to(Where.apply(cond, g, zero), sa) if na else None,
                sum_to(Where.apply(cond, zero, g), sb) if nb else None)


def _minmax(op, node, wins):
    def forward(a, b):
        return a._be.binary(op, a._data, b._data)

    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        # NOTE: ties split the gradient in half, as PyTorch does.
        share = wins(a, b).to(g.dtype) + (a == b).to(g.dtype) * 0.5
        return (sum_to(g * share, a.shape) if na else None, sum_to(g * (1 - share), b.shape) if nb else None)

    return type(op.capitalize(), (Op,), {"node_name": node, "_n_inputs": 2, "forward": staticmethod(forward),
                                         "setup_context": staticmethod(setup_context),
                                         "backward": staticmethod(backward)})


Maximum = _minmax("maximum", "MaximumBackward0", lambda a, b: a > b)
Minimum = _minmax("minimum", "MinimumBackward0", lambda a, b: a < b)
