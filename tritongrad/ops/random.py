"""Random ops on tensors: the in-place fills (uniform_, normal_, random_, exponential_, bernoulli_),
bernoulli, multinomial and normal's tensor overloads. Not differentiable (PyTorch's gradients of
these are zero or undefined); PyTorch's argument checks and messages, before anything is drawn.

The values come from the backend's `random_` / `multinomial` (CPU: PyTorch's own stream, see
tritongrad/_cpu_random.py; CUDA: Philox kernels, kernels/random.py) with the tensor's device
generator or `generator=`.
"""
import math

import numpy as np

from ..random import generator_for
from . import inplace as I
from .inplace import _SCALAR_NAMES
from .util import Tensor, broadcast_shapes

_CTYPES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int", "int64": "long",
           "bool": "bool", "float16": "at::Half", "bfloat16": "at::BFloat16", "float32": "float", "float64": "double"}
_P_RANGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be improved?  "
            "If so, please report an enhancement request to PyTorch.)")


def _g(x):
    """A number as C++'s default stream prints a double (PyTorch's messages)."""
    return f"{x:g}"


def _not_float(t, kernel):
    if not t._dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_SCALAR_NAMES[t._dtype.name]}\'')


def fill(t, kind, generator, *params):
    """Fill tensor t in place (checked by the caller) and bump its version; returns t."""
    I._check_overlap(t)
    I._check_autograd(t)
    if I._needs_graph(t):
        raise NotImplementedError(f"{kind} fill of a tensor that requires grad outside no_grad() is not supported")
    gen = generator_for(t._be.name, generator)
    be, a = t._be, t._data
    if be.name == "cpu" or be.is_contiguous(a):
        be.random_(a, kind, gen, *params)
    else:  # NOTE: the CUDA kernel writes contiguous memory: draw, then copy into the strided view
        be.copy_(a, be.random_(be.empty(a.shape, t._dtype), kind, gen, *params))
    t._vc[0] += 1
    return t


def uniform_(t, a=0.0, b=1.0, generator=None):
    _not_float(t, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={_g(a)} > to={_g(b)}")
    return fill(t, "uniform", generator, float(a), float(b))


def normal_(t, mean=0.0, std=1.0, generator=None):
    _not_float(t, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
    return fill(t, "normal", generator, float(mean), float(std))


def exponential_(t, lambd=1.0, generator=None):
    if not t._dtype.is_floating_point:
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_SCALAR_NAMES[t._dtype.name]}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_g(lambd)}")
    return fill(t, "exponential", generator, float(lambd))


def random_(t, from_=0, to=None, generator=None):
    """random_(): [0, 2**mantissa] or the dtype's [0, max]; random_(to): [0, to); random_(from, to)."""
    if to is None and from_ == 0:
        return fill(t, "random", generator) if t._be.name == "cpu" else fill(t, "randint", generator, 0,
                                                                              _full_span(t._dtype))
    if to is None:
        from_, to = 0, from_
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    name = t._dtype.name
    if not t._dtype.is_floating_point and name != "bool":
        info = np.iinfo(name)
        if not info.min <= from_ <= info.max:
            raise RuntimeError(f"from is out of bounds for {_CTYPES[name]}")
        if not info.min <= to - 1 <= info.max:
            raise RuntimeError(f"to - 1 is out of bounds for {_CTYPES[name]}")
    return fill(t, "randint", generator, int(from_), int(to))


def _full_span(dtype):
    """The exclusive bound of random_() without arguments (PyTorch's uniform_int_distribution)."""
    if dtype.is_floating_point:
        return (1 << {"float32": 24, "float64": 53, "float16": 11, "bfloat16": 8}[dtype.name]) + 1
    return 2 if dtype.name == "bool" else int(np.iinfo(dtype.name).max) + 1


def bernoulli_(t, p=0.5, generator=None):
    """t = 1 with probability p (a number, or a tensor broadcastable to t), else 0."""
    if isinstance(p, Tensor):
        _not_float(p, "bernoulli_tensor_cpu_p_")
        broadcast_shapes(t.shape, p.shape)
        return fill(t, "bernoulli", generator, _probabilities(p.to(t.device), t.shape))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_g(p)}")
    return fill(t, "bernoulli", generator, float(p))


def _probabilities(p, shape):
    """p's array broadcast to `shape`, checked to lie in [0, 1] (one host synchronization on CUDA)."""
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise RuntimeError(_P_RANGE)
    data = p._be.broadcast(p._data, tuple(shape)) if tuple(p.shape) != tuple(shape) else p._data
    return data if p._be.name == "cpu" else p._be.contiguous(data)


def bernoulli(input, p=None, *, generator=None):
    """A tensor like input of 1s with probability input (or p, a number), else 0."""
    out = input._make(input._be.empty(input._data.shape, input._dtype))
    if p is not None:
        return bernoulli_(out, p, generator)
    _not_float(input, "bernoulli_tensor_cpu_p_")
    return fill(out, "bernoulli", generator, _probabilities(input, input.shape))


def normal(mean, std, generator=None):
    """normal(Tensor, Tensor), normal(Tensor, float), normal(float, Tensor): N(0, 1) draws of the
    broadcast shape, then `* std + mean` (two roundings, as PyTorch's output.mul_(std).add_(mean))."""
    like = mean if isinstance(mean, Tensor) else std
    if isinstance(std, Tensor):
        if std.numel() and not bool((std >= 0).all()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
    shape = broadcast_shapes(*[x.shape for x in (mean, std) if isinstance(x, Tensor)])
    out = like._make(like._be.empty(shape, like._dtype))
    normal_(out, 0.0, 1.0, generator)
    from ..autograd.grad_mode import no_grad

    with no_grad():
        return out.mul_(std).add_(mean)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """num_samples category indices (int64) per row of input's non-negative weights (1-D or 2-D)."""
    if not 1 <= input.ndim <= 2:
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_SCALAR_NAMES[input._dtype.name]}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    cats = input.shape[-1]
    if not replacement and num_samples > cats:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if cats > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    gen = generator_for(input._be.name, generator)
    p = input.detach().reshape(-1, cats).contiguous()
    if p.numel():
        _check_weights(p, replacement and num_samples > 1)
    out = input._make(input._be.multinomial(p._data, int(num_samples), bool(replacement), gen))
    return out if input.ndim == 2 else out.reshape(-1)


def _check_weights(p, cumulative):
    """PyTorch's checks: the fast path's (no replacement or one sample) or the cumulative kernel's."""
    finite_nonneg = bool(((p >= 0) & (p < math.inf)).all())
    if not finite_nonneg:
        if not cumulative:
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if not bool((p >= 0).all()):  # NOTE: NaN fails PyTorch's `val >= 0` check first, as here
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
    if bool((p.sum(-1) == 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
