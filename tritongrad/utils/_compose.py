"""Ops that nn, nn.utils and utils.data need and the core does not have yet, composed accurately from
its differentiable ops. Issue 15 item 3 adds log1p, expm1, stack and cat to the core: each helper
calls the core's op as soon as it exists, so these compositions then drop out of use.
"""
from .. import _creation
from ..functional import where
from ..tensor import Tensor


def log1p(x):
    """log(1 + x), accurate to a few ulps for tiny x, where log(1 + x) rounds to 0.

    Kahan's trick: with w = 1 + x rounded, log1p(x) = log(w) * x / (w - 1) (x itself when w == 1).
    Its gradient is 1 / (1 + x) to rounding. Finite x > -1 only (x = inf gives NaN, not inf).
    """
    if hasattr(Tensor, "log1p"):
        return x.log1p()
    w = 1 + x
    d = w - 1
    exact = d == 0
    return where(exact, x, w.log() * (x / where(exact, 1.0, d)))  # NOTE: a safe denominator keeps NaN out of backward


def expm1(x):
    """exp(x) - 1, accurate to a few ulps for tiny x, where exp(x) - 1 loses all digits.

    For |x| < 1/2, Kahan's trick: with u = exp(x) rounded, expm1(x) = (u - 1) * x / log(u) (x itself
    when u == 1); elsewhere exp(x) - 1, which is exact to an ulp there and whose gradient is exp(x)
    exactly (the trick's gradient cancels badly for large |x|: at x = -40 it is noise of 1e-17
    instead of 4e-18).
    """
    if hasattr(Tensor, "expm1"):
        return x.expm1()
    xs = x.clamp(-0.5, 0.5)  # NOTE: keeps the unselected branch finite, so backward has no 0 * inf
    u = xs.exp()
    one = u == 1
    kahan = where(one, xs, (u - 1) * (xs / where(one, 1.0, u.log())))
    return where(x.abs() < 0.5, kahan, x.exp() - 1)


def stack(tensors, dim=0):
    """Tensors of one shape joined along a new dim 0 (torch.stack(tensors) for dim=0); differentiable.

    Without the core's stack: an empty result filled row by row (one copy per tensor, on the
    tensors' device; autograd records each copy, so gradients reach every input).
    """
    import tritongrad

    if hasattr(tritongrad, "stack"):
        return tritongrad.stack(tensors, dim)
    if dim != 0:
        raise NotImplementedError("stack along a dim other than 0 needs tritongrad.stack (issue 15)")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first.shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    out = _creation.empty((len(tensors),) + tuple(first.shape), dtype=first.dtype, device=first.device)
    for i, t in enumerate(tensors):
        out[i] = t
    return out


def cat(tensors):
    """1-d tensors joined end to end (torch.cat(tensors) for 1-d inputs); differentiable, as stack."""
    import tritongrad

    if hasattr(tritongrad, "cat"):
        return tritongrad.cat(tensors)
    if not tensors:
        raise ValueError("tritongrad.cat(): expected a non-empty list of Tensors")
    first = tensors[0]
    out = _creation.empty(sum(t.numel() for t in tensors), dtype=first.dtype, device=first.device)
    start = 0
    for t in tensors:
        out[start:start + t.numel()] = t
        start += t.numel()
    return out
