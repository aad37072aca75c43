"""Adagrad (torch.optim.Adagrad)."""
from .._creation import full_like
from .optimizer import Optimizer, addcdiv_, addcmul_, decayed_grad, new_step


class Adagrad(Optimizer):
    """Adagrad, as PyTorch computes it (t counts steps from 1):

        d = ±grad + weight_decay * p
        sum = sum + d * d
        p = p - lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps)

    The state (step 0, sum = initial_accumulator_value) exists from construction, as PyTorch's.

    Example:
        >>> opt = tg.optim.Adagrad(model.parameters(), lr=0.1)
    """

    _state_buffers = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if differentiable or fused:
            raise NotImplementedError("Adagrad(differentiable=True / fused=True) is not supported by tritongrad")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p, self.state[p])

    @staticmethod
    def _init_state(group, p, state):
        state["step"] = new_step()
        state["sum"] = full_like(p, group["initial_accumulator_value"])

    def _step_param(self, group, p, state):
        if not state:  # NOTE: a parameter added by add_param_group after construction
            self._init_state(group, p, state)
        step_t = state["step"]
        step = step_t.add_(1).item()
        grad = decayed_grad(group, p)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = addcmul_(state["sum"], grad, grad)
        addcdiv_(p, grad, state_sum.sqrt().add_(group["eps"]), -clr)
