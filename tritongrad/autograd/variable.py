"""`autograd.Variable`: PyTorch's deprecated alias. `Variable(t, requires_grad=...)` returns a Tensor
(t detached, sharing its memory and version counter), and every Tensor is an instance of Variable."""
import operator
import warnings

from .. import _dtype as dt
from .._tensor_base import TensorBase


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, TensorBase)


class Variable(metaclass=_VariableMeta):
    """Deprecated, as in PyTorch: `Variable(t)` is `t.detach()`, `Variable(t, requires_grad=True)` is
    `t.detach().requires_grad_()`; use tensors directly.

    Example:
        >>> w = tg.autograd.Variable(tg.randn(3, 2), requires_grad=True)
    """

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        requires_grad = bool(operator.index(requires_grad))
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with tritongrad.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            from ..backends import get
            from .engine import _Tensor  # NOTE: installed by tensor.py (engine.install)

            data = _Tensor._make(get("cpu").full((0,), 0, dt.get_default_dtype()))
        elif not isinstance(data, TensorBase):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return data.detach().requires_grad_(requires_grad)
