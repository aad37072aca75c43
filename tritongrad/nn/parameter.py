"""Parameter: a Tensor that a Module registers as one of its parameters (torch.nn.Parameter)."""
from ..tensor import Tensor

_new = object.__new__


class Parameter(Tensor):
    """A leaf tensor that requires grad by default; assigning one to a Module attribute registers it.

    It shares memory and version counter with `data`. Ops on a Parameter return plain Tensors.

    Example:
        >>> w = tg.nn.Parameter(tg.randn(3, 2))
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        # NOTE: not Tensor._make, which makes base Tensors: a Parameter is made field by field
        p = _new(cls)
        p._data, p._dtype, p._be = data._data, data._dtype, data._be
        p._requires_grad, p._grad_fn, p._output_nr, p._vc = False, None, 0, data._vc
        p.requires_grad_(requires_grad)
        return p

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self.detach().clone(), self._requires_grad)
        if self._grad is not None:
            result._grad = self._grad.detach().clone()
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.detach(), self._requires_grad))
