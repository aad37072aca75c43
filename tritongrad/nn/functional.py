"""tritongrad.nn.functional: activations, linear, softmax, losses and dropout, as torch.nn.functional.

Example:
    >>> import tritongrad.nn.functional as F
    >>> loss = F.cross_entropy(logits, labels)     # logits (N, C) float, labels (N,) int64
"""
import math
import warnings

from .. import _dtype as dt, _signatures as S
from .._args import scalar_name as _scalar_name
from ..autograd.grad_mode import no_grad
from ..functional import where
from ..ops import loss as L
from ..ops.elementwise import gelu  # noqa: F401  NOTE: its row is in ops/elementwise.py
from ..ops.util import broadcast_shapes, check_device, result_type, wrap_dim
from ..tensor import Tensor
from ..utils._compose import expm1, log1p
from . import _checks as C
from ._checks import (
    _check_classes,
    _check_reduction,
    _check_target,
    _check_unit_interval,
    _check_weight,
    _check_weight_classes,
)


def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def _inplace(fn, input, inplace):
    """fn(input), or, when inplace, fn's result written into `input` (a copy_, which autograd records).

    NOTE: in place, fn runs on a clone: the ops inside save their input for backward, and the
    copy_ into `input` would make those saved values stale.
    """
    return input.copy_(fn(input.clone())) if inplace else fn(input)


def silu(input, inplace=False):
    """x * sigmoid(x) elementwise (SiLU, also called swish)."""
    C.float_kernel("silu", input)
    return _inplace(lambda x: x * x.sigmoid(), input, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as PyTorch's)."""
    inplace = bool(inplace)  # NOTE: PyTorch's Python reads it first
    negative_slope = C.number(negative_slope, "leaky_relu", "negative_slope", 2)
    C.float_kernel("leaky_relu", input)
    return _inplace(lambda x: where(x > 0, x, x * negative_slope), input, inplace)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1), with an accurate expm1."""
    inplace = bool(inplace)  # NOTE: PyTorch's Python reads it first
    alpha = C.number(alpha, "elu", "alpha", 2)
    C.float_kernel("elu", input)
    if math.isinf(alpha):  # NOTE: 0 * inf at x = 0: PyTorch's kernel gives x there (x < 0 picks the formula)
        return _inplace(lambda x: where(x < 0, _elu_negative(x) * alpha, x), input, inplace)
    return _inplace(lambda x: where(x > 0, x, _elu_negative(x) * alpha), input, inplace)


def _elu_negative(x):
    """expm1(min(x, 0)) in value, with the derivative exp(min(x, 0)), as PyTorch's EluBackward.

    NOTE: min(x, 0): exp of a large x would overflow and make the unselected branch's gradient
    0 * inf = NaN. expm1's own backward, g * (y + 1), rounds to 0 once expm1(x) rounds to -1
    (x < -37 in float64) where exp(x) is still about 1e-17: the value comes from expm1, the
    gradient from exp through e - e.detach(), which is exactly 0.
    """
    c = x.clamp(max=0.0)
    e = c.exp()
    return expm1(c).detach() + (e - e.detach())


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (PyTorch's formula)."""
    beta, threshold = C.number(beta, "softplus", "beta", 2), C.number(threshold, "softplus", "threshold", 3)
    C.float_kernel("softplus", input)
    z = input * beta
    # NOTE: min(z, threshold) keeps exp finite in the unselected branch (a NaN gradient otherwise)
    return where(z > threshold, input, log1p(z.clamp(max=threshold).exp()) / beta)


def _softplus_stable(x):
    """log(1 + exp(x)) for any x without overflow: x + log1p(exp(-x)) for x > 0, else log1p(exp(x)).

    Two smooth branches chosen by where (not max(x, 0) + log1p(exp(-|x|)), whose kinks give the
    gradient 1 instead of 1/2 at x = 0).
    """
    return where(x > 0, x + log1p((-x.clamp(min=0.0)).exp()), log1p(x.clamp(max=0.0).exp()))


def linear(input, weight, bias=None):
    """input @ weight.T + bias: input (*, in_features), weight (out_features, in_features)."""
    C.check_tensor(weight, "linear", "weight", 2)
    C.optional_tensor(bias, "linear", "bias", 3)
    out = input.matmul(weight.t())
    return out if bias is None else out + bias


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an "
                  "argument.", UserWarning, stacklevel=stacklevel)  # NOTE: PyTorch's: a bad one raises its TypeError
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(cls, name, input, dim, dtype, stacklevel=3):
    if dim is None:
        dim = _softmax_dim(name, input.ndim, stacklevel)
    elif dim.__class__ is not int:
        dim = C.index(dim, name, "dim", 2)
    if dtype is not None:
        C.check_dtype(dtype, name)
    d = wrap_dim(dim, input.ndim)  # NOTE: PyTorch's order: the dim, then the input's dtype
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        if not input.numel():
            return input.clone()  # NOTE: PyTorch's kernel returns before its dtype dispatch
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for \'{_scalar_name(input.dtype)}\'')
    if input.ndim == 0:  # NOTE: the backends work on rows: a 0-d tensor is one row of one
        return cls.apply(input.reshape(1), 0).reshape(())
    return cls.apply(input, d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(input)) along `dim`, computed stably in one fused pass."""
    return _softmax(L.LogSoftmax, "log_softmax", input, dim, dtype, _stacklevel)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(input) / sum(exp(input)) along `dim`, computed stably in one fused pass."""
    return _softmax(L.Softmax, "softmax", input, dim, dtype, _stacklevel)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-input[n, target[n]] (times weight[target[n]]), reduced; input holds log-probabilities (N, C, d...).

    `target` holds class indices (int64) of shape (N, d...); targets equal to `ignore_index` count
    for nothing (and not in the mean's denominator).
    """
    reduction = _check_reduction(reduction, size_average, reduce)
    C.optional_tensor(weight, "nll_loss_nd", "weight", 3)
    _check_target(input, target, weight)
    cd = L.class_dim(input)
    n = target.shape[0] if target.ndim else 0  # NOTE: PyTorch reads a 0-d target's size(0) as 0
    if input.ndim != 1 and input.shape[0] != n:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({n}).")
    if target.dtype is not dt.int64:
        raise RuntimeError(f"expected scalar type Long but found {_scalar_name(target.dtype)}")
    _check_weight_classes(input, weight)
    if target.shape != input.shape[:cd] + input.shape[cd + 1:]:
        raise RuntimeError(f"size mismatch (got input: [{', '.join(map(str, input.shape))}] , target: "
                           f"[{', '.join(map(str, target.shape))}]")
    if not target.is_cuda:
        _check_classes(target, input.shape[cd], ignore_index)
    if weight is not None and weight.dtype is not input.dtype:
        weight = weight.to(input.dtype)
    return L.NllLoss.apply(input, target, weight, reduction, ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """nll_loss(log_softmax(input, 1), target): input holds unnormalized scores (N, C, d...) or (C,).

    `target` holds class indices (int64, shape (N, d...)) or class probabilities (float, input's
    shape). log_softmax runs as one fused kernel on CUDA, forward and backward.
    """
    reduction = _check_reduction(reduction, size_average, reduce)
    C.check_tensor(target, "cross_entropy_loss", "target", 2)
    C.optional_tensor(weight, "cross_entropy_loss", "weight", 3)
    if target.shape == input.shape and not target.dtype.is_floating_point:  # NOTE: PyTorch's checks come first
        raise RuntimeError("Expected floating point type for target with class probabilities, got "
                           + _scalar_name(target.dtype))
    if not input.ndim:  # NOTE: PyTorch's log_softmax over dim 1 (or its probabilities' dim 1) comes first
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)" if target.shape
                         else "Dimension specified as 1 but tensor has no dimensions")
    if not input.dtype.is_floating_point and input.numel():
        raise NotImplementedError(f"\"log_softmax_lastdim_kernel_impl\" not implemented for "
                                  f"'{_scalar_name(input.dtype)}'")
    _check_target(input, target, weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    if target.dtype.is_floating_point and target.shape == input.shape:  # NOTE: PyTorch's test: the shapes
        _check_weight_classes(input, weight)
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    return (1 - label_smoothing) * loss + _smooth_term(logp, target, weight, ignore_index, reduction, label_smoothing)


def _smooth_term(logp, target, weight, ignore_index, reduction, eps):
    """PyTorch's label-smoothing term: eps / C * -sum_c(weight_c * logp_c), masked and reduced like nll."""
    cd = L.class_dim(logp)
    n_classes = logp.shape[cd]
    if weight is not None:
        shape = (1,) * cd + (n_classes,) + (1,) * (logp.ndim - cd - 1)
        smooth = -(logp * weight.to(logp.dtype).reshape(shape)).sum(cd)
    else:
        smooth = -logp.sum(cd)
    keep = target != ignore_index
    smooth = smooth * keep.to(smooth.dtype)
    if reduction == "none":
        out = smooth
    elif reduction == "sum":
        out = smooth.sum()
    else:
        denom = Tensor._make(L.class_mask(logp, target, weight, ignore_index)).sum() if weight is not None \
            else keep.sum().to(smooth.dtype)
        out = smooth.sum() / denom
    return out * (eps / n_classes)


def _soft_cross_entropy(logp, target, weight, reduction, eps):
    """Cross entropy with class probabilities as targets."""
    if target.shape != logp.shape:
        raise RuntimeError(f"Expected target size [{', '.join(map(str, logp.shape))}], got "
                           f"[{', '.join(map(str, target.shape))}]")
    cdim = 1 if logp.ndim > 1 else 0
    n_classes = logp.shape[cdim]
    if eps:
        target = target * (1 - eps) + eps / n_classes
    terms = logp * target.to(logp.dtype)
    if weight is not None:
        terms = terms * weight.to(logp.dtype).reshape((n_classes,) + (1,) * (logp.ndim - cdim - 1))
    loss = -terms.sum(cdim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    # NOTE: PyTorch's mean: over all but the class dim (no classes: numel / C is 0 / 0, a NaN loss)
    return loss.sum() / (logp.numel() // n_classes if n_classes else math.nan)


def _pair(input, target, size_average, reduce, reduction, kernel=None):
    """Check a pointwise loss's arguments in PyTorch's order; (input, target, reduction), input and
    target cast to their common dtype, which `kernel` (a name in PyTorch's error) needs to be
    floating-point. A target of another shape broadcasts, with PyTorch's warning.
    """
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=3)
    if size_average is not None or reduce is not None:
        reduction = C.legacy_reduction(size_average, reduce)
    broadcast_shapes(input.shape, target.shape)
    reduction = _check_reduction(reduction)
    if kernel == "l1":
        S.bool_sub(input, target)  # NOTE: PyTorch's kernel subtracts first
        kernel = None
    check_device(input, target)
    rt = input.dtype if kernel == "huber" else result_type(input, target)  # NOTE: huber_loss keeps input's dtype
    input = input.to(rt)
    if kernel:
        C.float_kernel(kernel, input)
    return input, target.to(rt), reduction


def _reduce(loss, reduction):
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target) ** 2, reduced ('mean' by default); target broadcasts, with PyTorch's warning."""
    input, target, reduction = _pair(input, target, size_average, reduce, reduction, "mse")
    return L.MseLoss.apply(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target| (times weight), reduced; the gradient at input == target is 0.

    With a weight, 'mean' is sum(weight * loss) / sum(weight), as PyTorch's.
    """
    _check_weight(weight, input)
    input, target, reduction = _pair(input, target, size_average, reduce, reduction, "l1")
    loss = (input - target).abs()
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 * d**2 / beta where |d| < beta, else |d| - 0.5 * beta, with d = input - target (l1 at beta=0)."""
    if beta == 0:
        return l1_loss(input, target, size_average, reduce, reduction)
    input, target, reduction = _pair(input, target, size_average, reduce, reduction, "smooth_l1")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    z = (input - target).abs()
    return _reduce(where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 * d**2 where |d| < delta, else delta * (|d| - 0.5 * delta), with d = input - target (times weight)."""
    _check_weight(weight, input)
    input, target, reduction = _pair(input, target, None, None, reduction, "huber")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    z = (input - target).abs()
    loss = where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _log_clamped(x):
    """max(log(x), -100), PyTorch's BCE clamp; where x == 0 the value is -100 and the gradient 0.

    NOTE: log of x where x > 0, else of 1: log(0)'s gradient 0 / 0 would be NaN even when unselected.
    """
    pos = x > 0
    return where(pos, x.where(pos, 1.0).log().clamp(min=-100.0), -100.0)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-weight * (target * log(input) + (1 - target) * log(1 - input)), each log clamped at -100.

    `input` holds probabilities in [0, 1]. Where input is exactly 0 or 1 the gradient is the
    clamped formula's (finite), not PyTorch's (input - target) / 1e-12.
    """
    reduction = _check_reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    if weight is not None:
        weight.size()  # NOTE: PyTorch's Python reads it first (a non-tensor fails with its AttributeError)
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_scalar_name(target.dtype)} but expected {_scalar_name(input.dtype)}")
    C.float_kernel("binary_cross_entropy", input, device=False)
    check_device(input, target)  # NOTE: after the dtypes: PyTorch's kernel dispatch comes first
    _check_unit_interval(input, "input")
    _check_unit_interval(target, "target")
    loss = -(target * _log_clamped(input) + (1 - target) * _log_clamped(1 - input))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits:

        (1 - target) * input + (1 + (pos_weight - 1) * target) * log(1 + exp(-input))

    (PyTorch's formula), with log(1 + exp(-x)) evaluated without overflow for any x.
    """
    reduction = _check_reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    C.optional_tensor(weight, "binary_cross_entropy_with_logits", "weight", 3)
    C.optional_tensor(pos_weight, "binary_cross_entropy_with_logits", "pos_weight", 4)
    C.logits_dtypes(input, target)
    check_device(input, target)
    sp = _softplus_stable(-input)  # -log(sigmoid(input))
    if pos_weight is not None:
        sp = sp * ((pos_weight - 1) * target + 1)
    loss = ((1 - target) * input + sp).to(target.dtype)  # NOTE: PyTorch computes in target's dtype (in place)
    return _reduce(loss if weight is None else (loss * weight).to(target.dtype), reduction)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) by its mean and biased variance over the other dims, then scale
    by `weight` and shift by `bias`.

    training: batch statistics, and the running ones (if given) updated in place under no_grad:
    running = (1 - momentum) * running + momentum * batch (the variance unbiased); otherwise the
    running statistics normalise.
    """
    momentum, eps = C.batch_norm(running_mean, running_var, weight, bias, training, momentum, eps)
    if training and not input.ndim:
        raise IndexError("tuple index out of range")  # NOTE: PyTorch's Python reads size[0] first
    if training and math.prod(input.shape[:1] + input.shape[2:]) == 1:  # NOTE: PyTorch's order, all of it
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    if not input.numel():  # NOTE: PyTorch returns before its size checks (weight[0] and bias[0] keep the graph)
        out = input.clone() if weight is None else input * weight[0]
        return out if bias is None else out + bias[0]
    n_channels = input.shape[1] if input.ndim > 1 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != n_channels:
            raise RuntimeError(f"{name} should contain {n_channels} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"{'running_mean' if running_mean is None else 'running_var'} must be defined in "
                           "evaluation mode")
    if input.ndim < 2:
        raise ValueError(f"Expected 2 or more dimensions (got {input.ndim})")
    C.float_kernel("batch_norm", input, device=False)
    count = input.numel() // n_channels
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, n_channels) + (1,) * (input.ndim - 2)
    if training:
        mean = input.mean(dims, keepdim=True)
        centered = input - mean
        var_sum = (centered * centered).sum(dims, keepdim=True)
        var = var_sum / count
        if running_mean is not None:
            with no_grad():
                running_mean.copy_(mean.reshape(n_channels) * momentum + running_mean * (1 - momentum))
                running_var.copy_(var_sum.reshape(n_channels) / (count - 1) * momentum + running_var * (1 - momentum))
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
        centered = input - mean
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the others by 1 / (1 - p) (when training)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from .._creation import empty_like, zeros

    if p == 1.0:
        mask = zeros((), dtype=input.dtype, device=input.device)
    else:  # NOTE: PyTorch's draws (bernoulli_(1 - p), then div_), so that seeded runs match its numbers
        with no_grad():
            mask = empty_like(input).bernoulli_(1 - p).div_(1 - p)
    return input.mul_(mask) if inplace else input * mask


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes): 1 where the last index equals the class.

    num_classes=-1 infers max + 1. Values are checked as on PyTorch's CPU (a host synchronization
    on CUDA, only when num_classes must be inferred or the tensor is on the CPU).
    """
    if num_classes.__class__ is not int:
        num_classes = C.index(num_classes, "one_hot", "num_classes", 2)
    if tensor.dtype is not dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    on_cpu = tensor.device.type == "cpu"
    if num_classes == -1 or on_cpu:
        if tensor.numel() == 0:
            if num_classes == -1:
                raise RuntimeError("Can not infer total number of classes from empty tensor.")
        else:
            if int(tensor.min().item()) < 0:
                raise RuntimeError("Class values must be non-negative.")
            top = int(tensor.max().item())
            if num_classes == -1:
                num_classes = top + 1
            elif top >= num_classes:
                raise RuntimeError("Class values must be smaller than num_classes.")
    from .._creation import arange

    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).to(dt.int64)


__all__ = ["relu", "sigmoid", "tanh", "silu", "leaky_relu", "elu", "softplus", "linear", "log_softmax", "softmax",
           "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "batch_norm", "dropout", "one_hot"]

from ..ops.nn import embedding, layer_norm, scaled_dot_product_attention  # noqa: E402,F401  NOTE: rows in ops/nn.py

__all__ += ["gelu", "embedding", "layer_norm", "scaled_dot_product_attention"]
