"""Gradient clipping by total norm or by value (torch.nn.utils.clip_grad_norm_, clip_grad_value_).

The total norm stays a tensor on the gradients' device and scales them without a host sync;
error_if_nonfinite=True reads it back once.
"""
import math

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ...utils._compose import stack


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x, p):
    """The p-norm of all of x's elements (torch.linalg.vector_norm(x, p)), p in [-inf, inf]."""
    if p == math.inf:
        return x.abs().max()
    if p == -math.inf:
        return x.abs().min()
    if p == 0:
        return (x != 0).sum().to(x.dtype)
    if p == 1:
        return x.abs().sum()
    if p == 2:
        return (x * x).sum().sqrt()
    return (x.abs() ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of the p-norms of `tensors` (as if they were one vector), a 0-d tensor.

    Args:
        tensors: a tensor or an iterable of tensors (typically gradients).
        norm_type: p, a float or inf.
        error_if_nonfinite: raise RuntimeError if the norm is NaN or infinite (one host sync).
        foreach: accepted for compatibility and ignored.
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ..._creation import tensor

        return tensor(0.0)
    first = tensors[0].device
    total = _vector_norm(stack([_vector_norm(t, norm_type).to(first) for t in tensors]), norm_type)
    if error_if_nonfinite:
        value = total.item()
        if math.isnan(value) or math.isinf(value):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                               "so it cannot be clipped. To disable this error and scale the gradients by the "
                               "non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of `parameters` in place by min(1, max_norm / (total_norm + 1e-6))."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef.to(g.device))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of `parameters` in place so that their total norm is at most `max_norm`.

    Returns the total norm before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> tg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp the gradients of `parameters` in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
