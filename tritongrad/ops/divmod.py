"""Op table rows: remainder, fmod, and division rounded toward -inf or 0 (torch.div's rounding_mode,
floor_divide), with Python numbers on either side (see ops/table.py for the vocabulary).

PyTorch's derivatives: remainder(a, b) gives (g, -g * floor(a / b)) and fmod(a, b) gives
(g, -g * trunc(a / b)); rounded division is piecewise constant, so zero gradients (DivBackward2).
floor_divide and a number's remainder by a tensor (`5 % x`) have no derivative in PyTorch: their
node is its NotImplemented, which raises when backward reaches it.
"""
from . import util
from .elementwise import _arr, _shapes, _unbroadcast
from .table import Op


def _forward(name):
    return staticmethod(lambda a, b: a._be.binary(name, a._data, _arr(b)))


def _mod_formula(quotient):
    """The derivative of a - quotient(a, b) * b, the quotient piecewise constant."""
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, g if na else None, F.mul(F.neg(g), getattr(F, quotient)(a, b)) if nb else None)
    return staticmethod(formula)


class Remainder(Op):
    """a - floor(a / b) * b: the sign of b (Python's %)."""

    node_name = "RemainderBackward1"
    primitive = "remainder"
    _n_inputs = 2
    forward = _forward("remainder")
    formula = _mod_formula("div_floor")

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b = inputs
        need_b = ctx.needs_input_grad[1]
        ctx.save_for_backward(a if need_b else None, b if need_b else None)
        ctx.shapes = _shapes(a, b)


class RemainderScalar(Remainder):
    node_name = "RemainderBackward0"


class Fmod(Remainder):
    """a - trunc(a / b) * b: the sign of a (C's fmod)."""

    node_name = "FmodBackward1"
    primitive = "fmod"
    forward = _forward("fmod")
    formula = _mod_formula("div_trunc")


class FmodScalar(Fmod):
    node_name = "FmodBackward0"


class DivFloor(Op):
    """a / b rounded toward -inf (torch.div(..., rounding_mode="floor")): a zero gradient."""

    node_name = "DivBackward2"
    primitive = "div_floor"
    _n_inputs = 2
    forward = _forward("div_floor")

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.shapes = _shapes(*inputs)

    @staticmethod
    def formula(ctx, F, g):
        na, nb = ctx.needs_input_grad
        return _unbroadcast(F, ctx, F.mul(g, 0) if na else None, F.mul(g, 0) if nb else None)


class DivTrunc(DivFloor):
    """a / b rounded toward 0 (torch.div(..., rounding_mode="trunc")): a zero gradient."""

    node_name = "DivBackward2"
    primitive = "div_trunc"
    forward = _forward("div_trunc")


def _not_implemented(op, aten, n_inputs, forward):
    """A row with PyTorch's NotImplemented node: the values of `forward`, and backward raises."""
    def formula(ctx, F, g):
        raise RuntimeError(f"derivative for aten::{aten} is not implemented")

    return type(op, (Op,), {"node_name": "NotImplemented", "_n_inputs": n_inputs, "__module__": __name__,
                            "forward": staticmethod(forward), "setup_context": staticmethod(lambda ctx, i, o: None),
                            "formula": staticmethod(formula)})


FloorDivide = _not_implemented("FloorDivide", "floor_divide", 2, _forward("div_floor").__func__)
RFloorDivide = _not_implemented("RFloorDivide", "floor_divide", 1, lambda a, s: a._be.rbinary("div_floor", s, a._data))
RRemainder = _not_implemented("RRemainder", "remainder", 1, lambda a, s: a._be.rbinary("remainder", s, a._data))
_ROUNDED = {None: None, "floor": DivFloor, "trunc": DivTrunc}


def _operands(name, a, b):
    """a and b promoted together, after PyTorch's error for bool operands (it has no kernel for them)."""
    a, b, _ = util.operands(a, b)
    if a._dtype.name == "bool":
        from .inplace import _SCALAR_NAMES

        raise NotImplementedError(f'"{name}_{a.device.type}" not implemented for \'{_SCALAR_NAMES["bool"]}\'')
    return a, b


def remainder(a, b, fmod=False):
    """torch.remainder / torch.fmod of a Tensor `a` and a Tensor or number `b`."""
    a, b = _operands("fmod" if fmod else "remainder", a, b)
    tensor = isinstance(b, util.Tensor)
    return ((Fmod if tensor else FmodScalar) if fmod else (Remainder if tensor else RemainderScalar)).apply(a, b)


def check_rounding(rounding_mode):
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")


def div(a, b, rounding_mode):
    """torch.div with rounding_mode "floor" or "trunc" (None is true division: elementwise.Div)."""
    check_rounding(rounding_mode)
    a, b = _operands("div_" + rounding_mode, a, b)
    return _ROUNDED[rounding_mode].apply(a, b)


def floor_divide(a, b):
    a, b = _operands("div_floor", a, b)
    return FloorDivide.apply(a, b)


def reflected(op, s, a):
    """s % a or s // a for a Python number s (PyTorch records no derivative for either)."""
    if not isinstance(s, (int, float)):
        return NotImplemented
    a, _ = _operands("remainder" if op == "remainder" else "div_floor", a, s)
    return (RRemainder if op == "remainder" else RFloorDivide).apply(a, s)
