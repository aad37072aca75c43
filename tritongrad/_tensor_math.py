"""Tensor's arithmetic, comparisons, reductions and in-place methods: each checks its arguments
and calls an op (tritongrad/ops). A base class of tensor.Tensor, kept apart so that each file fits in a head.
"""
from . import _args as A, _dtype as dt, _signatures as S
from ._math_methods import numpy_names, reduce_dims as _reduce_dims
from ._tensor_base import TensorBase
from .autograd.function import _expandable
from .ops import divmod as DM, elementwise as EW, inplace as I, linalg, reduce as RD, util
from .ops.util import (
    as_tensor as _as_tensor,
    clamp_args as _clamp_args,
    clamp_tensor_args as _clamp_tensor_args,
    operands,
    wrap_dim,
)

_NUMBERS = (int, float)  # NOTE: exact classes (bool is not one): the fast paths below
_BOUNDS = (int, float, type(None))
_UNSET = A.UNSET  # NOTE: a global, not an attribute lookup, on the common path


def _same(a, b):
    """Whether `a op b` needs no checks: b is a Python number and a floating-point tensor, or both are
    tensors of one float dtype, device and shape (operands() handles everything else)."""
    if b.__class__ in _NUMBERS:
        return a._dtype.is_floating_point
    return (b.__class__ is a.__class__ and b._dtype is a._dtype and a._dtype.is_floating_point and b._be is a._be
            and b._data.shape == a._data.shape)


class TensorMath(TensorBase):
    __slots__ = ()

    # --- math: methods and operators call the ops -------------------------------------------------
    def add(self, other, *deprecated, alpha=_UNSET):  # NOTE: _UNSET: alpha=1, and tells x.add(2, y, alpha=1) apart
        if deprecated:
            other, alpha = S.positional_alpha("add", other, deprecated, alpha)
        elif alpha is _UNSET:
            if _same(self, other):
                return EW.Add.apply(self, other, 1)
            alpha = 1
        a, b, _ = operands(self, other)
        if alpha != 1 or alpha.__class__ is not int:
            I.check_alpha(a._dtype, alpha)
        return EW.Add.apply(a, b, alpha)

    def sub(self, other, *deprecated, alpha=_UNSET):
        if deprecated:
            other, alpha = S.positional_alpha("sub", other, deprecated, alpha)
        elif alpha is _UNSET:
            if _same(self, other):
                return EW.Sub.apply(self, other, 1)
            alpha = 1
        if not isinstance(other, (int, float, TensorBase)):
            A.check_tensor(other, "sub", "other", 1)  # NOTE: PyTorch's parser, before the bool check
        S.bool_sub(self, other)
        a, b, _ = operands(self, other)
        if alpha != 1 or alpha.__class__ is not int:
            I.check_alpha(a._dtype, alpha, "sub")
        return EW.Sub.apply(a, b, alpha)

    def mul(self, other):
        if _same(self, other):
            return EW.Mul.apply(self, other)
        a, b, _ = operands(self, other)
        return EW.Mul.apply(a, b)

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return DM.div(self, other, rounding_mode)
        a, b, _ = operands(self, other, float_only=True)
        return EW.Div.apply(a, b)

    def remainder(self, other):
        return DM.remainder(self, other)

    def fmod(self, other):
        return DM.remainder(self, other, fmod=True)

    def floor_divide(self, other):
        return DM.floor_divide(self, other)

    def __rmod__(self, other):
        return DM.reflected("remainder", other, self)

    def __rfloordiv__(self, other):
        return DM.reflected("floor_divide", other, self)

    def pow(self, exponent):
        if exponent.__class__ in _NUMBERS and self._dtype.is_floating_point:
            return EW.Pow.apply(self, exponent)
        if isinstance(exponent, TensorBase):
            if self._dtype is dt.bool_ and exponent._dtype is dt.bool_:
                raise NotImplementedError("\"pow\" not implemented for 'Bool'")
            a, b, _ = operands(self, exponent)
            return EW.PowTensor.apply(a, b)
        a, b, _ = operands(self, exponent)
        if a._dtype._kind < 2 and isinstance(b, int) and b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return EW.Pow.apply(a, b)

    def __rsub__(self, other):
        if other.__class__ in _NUMBERS and self._dtype.is_floating_point:
            return EW.Rsub.apply(self, other)
        S.bool_sub(self, other)
        a, s, _ = operands(self, other)
        return EW.Rsub.apply(a, s)

    def __rtruediv__(self, other):
        return self.reciprocal() * other

    def __rpow__(self, other):
        a, s, _ = operands(self, other)
        return EW.RPow.apply(a, s)

    def __matmul__(self, other):
        return linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return linalg.matmul(other, self)

    def matmul(self, other):
        if not isinstance(other, TensorBase):
            A.check_tensor(other, "matmul", "other", 1)
        return linalg.matmul(self, other)

    def mm(self, other):
        if not isinstance(other, TensorBase):
            A.check_tensor(other, "mm", "mat2", 1)
        return linalg.mm(self, other)

    __add__, __sub__, __mul__, __truediv__, __pow__ = add, sub, mul, div, pow
    __mod__, __floordiv__ = remainder, floor_divide
    __radd__, __rmul__ = add, mul  # NOTE: number + tensor is tensor + number (PyTorch records it so too)
    true_divide = divide = div
    multiply = mul

    def subtract(self, other, *scalar_alpha, alpha=_UNSET):
        """sub; without the deprecated x.sub(alpha, other), but with subtract(Number other, Number alpha)."""
        if scalar_alpha:
            other, alpha = S.subtract_alpha(other, scalar_alpha, alpha)
        return self.sub(other, alpha=alpha)

    def __neg__(self):
        if self._dtype is dt.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        return EW.Neg.apply(self)

    neg = negative = __neg__

    def __pos__(self):
        return self

    def __abs__(self):
        if self._dtype is dt.bool_:
            raise NotImplementedError(f"\"abs_{self.device.type}\" not implemented for 'Bool'")
        return EW.Abs.apply(self)

    abs = __abs__

    def _float_unary(self, cls):
        return cls.apply(self if self._dtype.is_floating_point else self.float())

    def exp(self):
        return self._float_unary(EW.Exp)

    def log(self):
        return self._float_unary(EW.Log)

    def sqrt(self):
        return self._float_unary(EW.Sqrt)

    def sin(self):
        return self._float_unary(EW.Sin)

    def cos(self):
        return self._float_unary(EW.Cos)

    def reciprocal(self):
        return self._float_unary(EW.Reciprocal)

    def sigmoid(self):
        return self._float_unary(EW.Sigmoid)

    def sum_to_size(self, *size):
        """This tensor summed over the dims that broadcasting `size` to its shape would add or expand."""
        from ._tensor_views import _sizes

        shape = _sizes(size, "sum_to_size")
        if not _expandable(shape, self.shape):
            raise RuntimeError(f"size {{[{', '.join(map(str, shape))}]}} is not expandable to size "
                               f"{{[{', '.join(map(str, self.shape))}]}}.")
        return util.sum_to(self, shape)

    def log1p(self):
        return self._float_unary(EW.Log1p)

    def expm1(self):
        return self._float_unary(EW.Expm1)

    def tanh(self):
        return self._float_unary(EW.Tanh)

    def relu(self):
        if self._dtype is dt.bool_:
            raise RuntimeError("Boolean inputs not supported for relu")
        return EW.Relu.apply(self)

    def sign(self):
        return self.clone() if self._dtype is dt.bool_ else EW.Sign.apply(self)  # NOTE: NumPy has no bool sign

    def square(self):
        return self.pow(2)

    def clamp(self, min=None, max=None):
        if min.__class__ not in _BOUNDS or max.__class__ not in _BOUNDS:
            S.clamp_bounds("clamp", min, max)
        if min is None and max is None:
            raise RuntimeError("tritongrad.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, TensorBase) or isinstance(max, TensorBase):
            return EW.ClampTensor.apply(*_clamp_tensor_args(self, min, max))
        return EW.Clamp.apply(*_clamp_args(self, min, max))

    clip = clamp

    def clamp_min(self, min):
        if min.__class__ not in _NUMBERS:
            S.clamp_bounds("clamp_min", min, "" if min is None else min)  # NOTE: "": no None here
        if isinstance(min, TensorBase):
            return EW.ClampMinTensor.apply(*_clamp_tensor_args(self, min, None))
        return EW.ClampMin.apply(*_clamp_args(self, min, None))

    def clamp_max(self, max):
        if max.__class__ not in _NUMBERS:
            S.clamp_bounds("clamp_max", "" if max is None else max, max)
        if isinstance(max, TensorBase):
            return EW.ClampMaxTensor.apply(*_clamp_tensor_args(self, None, max))
        return EW.ClampMax.apply(*_clamp_args(self, None, max))

    def maximum(self, other):
        A.check_tensor(other, "maximum", "other", 1)
        a, b, _ = operands(self, _as_tensor(other, self))
        return EW.Maximum.apply(a, b)

    def minimum(self, other):
        A.check_tensor(other, "minimum", "other", 1)
        a, b, _ = operands(self, _as_tensor(other, self))
        return EW.Minimum.apply(a, b)

    def where(self, condition, other):
        from .functional import where

        A.check_tensor(condition, "where", "condition", 1)
        return where(condition, self, other)

    # Comparisons and logic: bool results, never differentiable.
    def _compare(self, op, other):
        a, _, b = operands(self, other)
        return a._make(a._be.binary(op, a._data, b))

    def eq(self, other):
        return self._compare("eq", other)

    def ne(self, other):
        return self._compare("ne", other)

    def lt(self, other):
        return self._compare("lt", other)

    def le(self, other):
        return self._compare("le", other)

    def gt(self, other):
        return self._compare("gt", other)

    def ge(self, other):
        return self._compare("ge", other)

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = eq, ne, lt, le, gt, ge
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other):
        A.check_tensor(other, "equal", "other", 1)
        return self.shape == other.shape and bool(self.eq(other).all())

    def _logical(self, op, other):
        A.check_tensor(other, op, "other", 1)
        other = _as_tensor(other, self)
        util.check_device(self, other)
        util.broadcast_shapes(self.shape, other.shape)  # NOTE: PyTorch's message, not NumPy's, on a mismatch
        return self._make(self._be.binary(op, self.bool()._data, other.bool()._data))

    def logical_and(self, other):
        return self._logical("logical_and", other)

    def logical_or(self, other):
        return self._logical("logical_or", other)

    def logical_not(self):
        return self._make(self._be.unary("logical_not", self.bool()._data))

    def __and__(self, other):
        return self.bitwise_and(other)  # NOTE: _math_methods.py: integers and bool, promoted as PyTorch

    def __or__(self, other):
        return self.bitwise_or(other)

    def __invert__(self):
        self._check_bool("~")
        return self.logical_not()

    def _check_bool(self, op):
        if self._dtype is not dt.bool_:
            raise TypeError(f"tritongrad supports {op} on bool tensors only, got {self._dtype}")

    __rand__, __ror__ = __and__, __or__

    # --- reductions -------------------------------------------------------------------------------
    # NOTE: sum and mean take axis/keepdims as parameters, not by @numpy_names (0.7% of tiny_chain's instructions)
    def sum(self, dim=_UNSET, keepdim=_UNSET, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
        if keepdim is _UNSET and dtype is None and axis is _UNSET and keepdims is _UNSET:
            keepdim = False  # NOTE: the common calls, sum() and sum(dim), inline
            if dim is _UNSET:
                dim = None
        else:
            dim, keepdim = S.reduce_args("sum", dim, keepdim, dtype, axis, keepdims)
        if dtype is None and self._dtype._kind < 2:
            dtype = dt.int64  # NOTE: PyTorch sums bool and integer tensors as int64
        dims = () if dim is None else _reduce_dims(self, dim, "sum")
        cls = RD.Sum if dim is None else RD.SumDim
        # NOTE: NumPy and the CUDA reduction sum integers in int64: another integer dtype asked for is a cast
        out_dtype = None if dtype is self._dtype and (self._dtype._kind == 2 or dtype is dt.int64) else dtype
        return cls.apply(self, dims, keepdim, out_dtype)

    def mean(self, dim=_UNSET, keepdim=_UNSET, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
        if keepdim is _UNSET and dtype is None and axis is _UNSET and keepdims is _UNSET:
            keepdim = False  # NOTE: mean() and mean(dim), inline
            if dim is _UNSET:
                dim = None
        else:
            dim, keepdim = S.reduce_args("mean", dim, keepdim, dtype, axis, keepdims)
        if dim is not None and dim.__class__ is not int:
            A.int_list(dim, "mean")  # NOTE: PyTorch's TypeError comes before its dtype RuntimeError
        x = self if dtype is None else self.to(dtype)
        if not x._dtype.is_floating_point:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               f"complex dtype. Got: {dt.TYPE_NAMES[x._dtype.name][:-6]}")
        dims = () if dim is None else _reduce_dims(x, dim, "mean")
        return (RD.Mean if dim is None else RD.MeanDim).apply(x, dims, keepdim)

    def _minmax(self, all_cls, dim_cls, dim, keepdim, name):
        if dim.__class__ is not int:
            if dim is _UNSET and keepdim is _UNSET:
                return all_cls.apply(self)
            if isinstance(dim, TensorBase) and keepdim is _UNSET:  # NOTE: max(other): the elementwise maximum
                return self.maximum(dim) if all_cls is RD.MaxAll else self.minimum(dim)
            if dim is _UNSET or dim is None:
                raise A.no_overload(name, (dim, keepdim), ("()", "(Tensor other)", "(int dim, bool keepdim = False)"))
            dim = A.index(dim, name)
        if keepdim is _UNSET:
            keepdim = False
        elif keepdim.__class__ is not bool:
            A.check_bool(keepdim, name)
        from .functional import return_types

        dim = wrap_dim(dim, self.ndim)
        values, indices = dim_cls.apply(self, dim, keepdim)
        return return_types(values, indices, name)

    @numpy_names
    def max(self, dim=_UNSET, keepdim=_UNSET):
        return self._minmax(RD.MaxAll, RD.MaxDim, dim, keepdim, "max")

    @numpy_names
    def min(self, dim=_UNSET, keepdim=_UNSET):
        return self._minmax(RD.MinAll, RD.MinDim, dim, keepdim, "min")

    @numpy_names
    def argmax(self, dim=None, keepdim=False):
        return self._argreduce("argmax", dim, keepdim)

    @numpy_names
    def argmin(self, dim=None, keepdim=False):
        return self._argreduce("argmin", dim, keepdim)

    def _argreduce(self, op, dim, keepdim):
        if keepdim.__class__ is not bool:
            A.check_bool(keepdim, op)
        if dim is not None and dim.__class__ is not int:
            dim = A.index(dim, op)
        if self._dtype is dt.bool_:
            raise RuntimeError(f"{op}(): does not support bool input")
        if dim is None:
            if not self.numel():
                raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
            out = self._make(self._be.arg_reduce(op, self.reshape(-1)._data, 0, False))
            return out.view((1,) * self.ndim) if keepdim else out
        d = wrap_dim(dim, self.ndim)
        if self.ndim and not self.shape[d]:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
        return self._make(self._be.arg_reduce(op, self._data, d, keepdim))

    @numpy_names
    def all(self, dim=None, keepdim=False):
        return self._bool_reduce("all", dim, keepdim)

    @numpy_names
    def any(self, dim=None, keepdim=False):
        return self._bool_reduce("any", dim, keepdim)

    def _bool_reduce(self, op, dim, keepdim):
        if keepdim.__class__ is not bool:
            A.check_bool(keepdim, op)
        if isinstance(dim, TensorBase):
            dim = A.index(dim, op)  # NOTE: all(int dim): a 0-d integer tensor, not all(tuple of ints dim)
        dims = () if dim is None else _reduce_dims(self, dim, op)
        out = self._make(self._be.reduce(op, self.bool()._data, dims, keepdim))
        return out.to(dt.uint8) if self._dtype is dt.uint8 else out  # NOTE: PyTorch keeps uint8 (NumPy's legacy)

    # --- in place: check, then write (tritongrad/ops/inplace.py) ----------------------------------
    def add_(self, other, *deprecated, alpha=_UNSET):
        if deprecated:
            other, alpha = S.positional_alpha("add_", other, deprecated, alpha)
        elif alpha is _UNSET:
            alpha = 1
        return I.binary_(self, "add", other, alpha)

    def sub_(self, other, *deprecated, alpha=_UNSET):
        if deprecated:
            other, alpha = S.positional_alpha("sub_", other, deprecated, alpha)
        elif alpha is _UNSET:
            alpha = 1
        return I.binary_(self, "sub", other, alpha)

    def mul_(self, other):
        return I.binary_(self, "mul", other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return I.binary_(self, "div", other)
        DM.check_rounding(rounding_mode)
        return I.binary_(self, "div_" + rounding_mode, other,
                         record=lambda s: s.div(other, rounding_mode=rounding_mode))

    def remainder_(self, other):
        return I.binary_(self, "remainder", other)

    def fmod_(self, other):
        return I.binary_(self, "fmod", other)

    def floor_divide_(self, other):
        return I.binary_(self, "div_floor", other, record=lambda s: s.floor_divide(other))

    def pow_(self, exponent):
        if self._dtype._kind < 2 and exponent.__class__ is int and exponent < 0:  # NOTE: as __pow__, before writing
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if self._dtype is dt.bool_ and isinstance(exponent, TensorBase) and exponent._dtype is dt.bool_:
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")  # NOTE: as pow(), before writing
        return I.binary_(self, "pow", exponent)

    __iadd__, __isub__, __imul__, __itruediv__, __ipow__ = add_, sub_, mul_, div_, pow_
    __imod__, __ifloordiv__ = remainder_, floor_divide_

    def copy_(self, src, non_blocking=False):
        if non_blocking is not False:
            A.check_bool(non_blocking, "copy_", "non_blocking", 2)
        return I.copy_(self, src)

    def fill_(self, value):
        return I.fill_(self, value)

    def zero_(self):
        return I.fill_(self, 0)

    def clamp_(self, min=None, max=None):
        if min.__class__ not in _BOUNDS or max.__class__ not in _BOUNDS:
            S.clamp_bounds("clamp_", min, max)
        return I.unary_(self, lambda s: s.clamp(min, max), "clamp", (min, max))

    def clamp_min_(self, min):
        return I.unary_(self, lambda s: s.clamp_min(min), "clamp", (min, None))

    def clamp_max_(self, max):
        return I.unary_(self, lambda s: s.clamp_max(max), "clamp", (None, max))

    def relu_(self):
        return I.unary_(self, TensorMath.relu, "relu", ())

    def neg_(self):
        return I.unary_(self, TensorMath.neg, "neg", ())

    def exp_(self):
        return I.unary_(self, TensorMath.exp, "exp", ())

    def sqrt_(self):
        return I.unary_(self, TensorMath.sqrt, "sqrt", ())
