"""Ops of tritongrad.nn.functional: (log-)softmax, the negative log-likelihood and the squared error.

(log-)softmax is one fused backend pass forward and one backward (kernels/loss.py on CUDA), each
backward an op itself so that higher-order gradients work. NllLoss selects each row's target
class with a one-hot mask (`arange(C) == target`), not with advanced indexing: the same backend
primitives on both devices, and its backward is a product with that (constant) mask.
"""
import math

from .. import _dtype as dt
from . import util
from .util import Op, broadcast_shapes, sum_to


class LogSoftmax(Op):
    node_name = "LogSoftmaxBackward0"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, dim):
        return a._be.log_softmax(a._data, dim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.dim = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        (y,) = F.saved(ctx)
        return F.log_softmax_backward(g, y, ctx.dim)


class LogSoftmaxGrad(Op):
    """g - exp(y) * sum(g, dim): log_softmax's backward in one pass."""

    node_name = "LogSoftmaxBackwardDataBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, y, dim):
        return g._be.log_softmax_backward(g._data, y._data, dim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        g, y, ctx.dim = inputs
        ctx.save_for_backward(g, y)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        e, d = y.exp(), ctx.dim
        dg = gg - (gg * e).sum(d, keepdim=True) if ctx.needs_input_grad[0] else None
        dy = -gg * e * g.sum(d, keepdim=True) if ctx.needs_input_grad[1] else None
        return dg, dy


class Softmax(Op):
    node_name = "SoftmaxBackward0"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, dim):
        return a._be.softmax(a._data, dim)

    setup_context = LogSoftmax.setup_context

    @staticmethod
    def formula(ctx, F, g):
        (y,) = F.saved(ctx)
        return F.softmax_backward(g, y, ctx.dim)


class SoftmaxGrad(Op):
    """y * (g - sum(g * y, dim)): softmax's backward in one pass."""

    node_name = "SoftmaxBackwardDataBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(g, y, dim):
        return g._be.softmax_backward(g._data, y._data, dim)

    setup_context = LogSoftmaxGrad.setup_context

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        d = ctx.dim
        dg = SoftmaxGrad.apply(gg, y, d) if ctx.needs_input_grad[0] else None
        dy = gg * (g - (g * y).sum(d, keepdim=True)) - g * (gg * y).sum(d, keepdim=True) \
            if ctx.needs_input_grad[1] else None
        return dg, dy


def class_dim(logp):
    """The class dim: 1 of (N, C, d...), 0 of a single sample (C,)."""
    return 1 if logp.ndim > 1 else 0


def class_mask(logp, target, weight, ignore_index):
    """Backend array w of logp's shape (N, C, d...) or (C,): weight[c] (or 1) where c == target,
    else 0; rows whose target is `ignore_index` are all 0. `target` is int64 of shape (N, d...) or ()."""
    be, shape, cd = logp._be, logp.shape, class_dim(logp)
    lead = (1,) * cd + (shape[cd],) + (1,) * (len(shape) - cd - 1)
    classes = be.view(be.arange(0, shape[cd], 1, dt.int64), lead)
    tgt = be.contiguous(target._data)
    tgt = be.view(tgt, shape[:cd] + (1,) + shape[cd + 1:])
    hot = be.binary("logical_and", be.binary("eq", classes, tgt), be.binary("ne", tgt, ignore_index))
    w = be.astype(hot, logp.dtype)
    if weight is not None:
        w = be.binary("mul", w, be.view(be.contiguous(weight._data), lead))
    return w


class NllLoss(Op):
    """-sum(w * logp, class dim), then none / sum / mean (divided by sum(w)), w = class_mask(...)."""

    node_name = "NllLossBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(ctx, logp, target, weight, reduction, ignore_index):  # NOTE: old style: backward needs w
        be = logp._be
        w = class_mask(logp, target, weight, ignore_index)
        cd = class_dim(logp)
        loss = be.unary("neg", be.reduce("sum", be.binary("mul", w, logp._data), (cd,), False))
        ctx.w, ctx.reduction, ctx.cd = w, reduction, cd  # NOTE: no-ops without a graph (ctx is then a null object)
        if reduction == "none":
            return loss
        loss = be.reduce("sum", loss, (), False)
        if reduction == "sum":
            return loss
        ctx.total = total = be.reduce("sum", w, (), False)
        return be.binary("div", loss, total)

    @staticmethod
    def backward(ctx, g):
        w = util.Tensor._make(ctx.w)
        if ctx.reduction == "none":
            g = g.unsqueeze(ctx.cd)
        elif ctx.reduction == "mean":
            g = g / util.Tensor._make(ctx.total)
        return -w * g


class MseLoss(Op):
    """(a - b) ** 2 broadcast, then none / sum / mean."""

    node_name = "MseLossBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, b, reduction):
        be = a._be
        d = be.binary("sub", a._data, b._data)
        sq = be.binary("mul", d, d)
        return sq if reduction == "none" else be.reduce(reduction, sq, (), False)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b, ctx.reduction = inputs
        ctx.save_for_backward(a, b)
        ctx.numel = math.prod(broadcast_shapes(a._data.shape, b._data.shape))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        scale = 2.0 / ctx.numel if ctx.reduction == "mean" else 2.0
        grad = (a - b) * (g * scale)
        na, nb = ctx.needs_input_grad
        return sum_to(grad, a.shape) if na else None, sum_to(-grad, b.shape) if nb else None
