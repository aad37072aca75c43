"""Adadelta (torch.optim.Adadelta)."""
from .._creation import zeros_like
from .optimizer import Optimizer, addcmul_, decayed_grad, new_step


class Adadelta(Optimizer):
    """Adadelta, as PyTorch computes it:

        d = ±grad + weight_decay * p
        v = rho * v + (1 - rho) * d * d
        delta = sqrt(u + eps) / sqrt(v + eps) * d
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Example:
        >>> opt = tg.optim.Adadelta(model.parameters())
    """

    _state_buffers = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if capturable or differentiable:
            raise NotImplementedError("Adadelta(capturable=True / differentiable=True) is not supported by tritongrad")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _step_param(self, group, p, state):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = new_step()
            state["square_avg"] = zeros_like(p)
            state["acc_delta"] = zeros_like(p)
        state["step"].add_(1)
        grad = decayed_grad(group, p)
        square_avg = addcmul_(state["square_avg"].mul_(rho), grad, grad, 1 - rho)
        std = (square_avg + eps).sqrt()
        delta = (state["acc_delta"] + eps).sqrt() / std * grad
        addcmul_(state["acc_delta"].mul_(rho), delta, delta, 1 - rho)
        p.add_(delta, alpha=-group["lr"])
