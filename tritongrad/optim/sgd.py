"""SGD with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD)."""
from .._creation import empty_like
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch computes it:

        d = ±grad + weight_decay * p
        buf = d (first step) or momentum * buf + (1 - dampening) * d
        d = d + momentum * buf (nesterov) or buf      (when momentum != 0)
        p = p - lr * d

    One fused kernel per parameter on CUDA.

    Example:
        >>> opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    _state_buffers = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if differentiable:
            raise NotImplementedError("SGD(differentiable=True) is not supported by tritongrad")
        # NOTE: foreach / fused are accepted for compatibility: the CUDA step is always one fused kernel
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _integral_error(self, dtype):
        return RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")

    def _step_param(self, group, p, state):
        momentum = group["momentum"]
        buf, first = None, False
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = empty_like(p)  # NOTE: the kernel's first step writes it
                first = True
        p._be.sgd_step(p._data, p.grad._data, None if buf is None else buf._data, group["lr"], momentum,
                       group["dampening"], group["nesterov"], group["weight_decay"], group["maximize"], first)
        p._vc[0] += 1
        if buf is not None:
            buf._vc[0] += 1
