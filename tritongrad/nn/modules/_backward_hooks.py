"""Module backward hooks through the engine's own hooks (torch.utils.hooks.BackwardHook).

A module call with backward hooks passes its tensor inputs, and then its tensor outputs, through
an identity autograd Function. In backward, a pre-hook on the outputs' identity node sees the
gradients with respect to the outputs (grad_output: backward pre-hooks run there), and a post-hook
on the inputs' identity node sees the gradients with respect to the inputs (grad_input: the
module's full backward hooks run there and may replace them).
"""
from ...autograd.function import Function
from ...tensor import Tensor


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; its node (BackwardHookFunctionBackward) carries the hooks."""

    @staticmethod
    def forward(ctx, *args):
        # NOTE: inputs that need no grad come out as new, non-differentiable tensors (an input
        # returned as is would become a differentiable output of this node)
        outs = tuple(a if a.requires_grad else a.detach() for a in args)
        ctx.mark_non_differentiable(*[o for o in outs if not o.requires_grad])
        ctx.set_materialize_grads(False)
        return outs

    @staticmethod
    def backward(ctx, *grads):
        return grads


def _wrap(values):
    """Pass the tensors among `values` through BackwardHookFunction; returns (new values, its node, indices)."""
    idx = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
    if not any(values[i].requires_grad for i in idx):
        return values, None, idx
    outs = BackwardHookFunction.apply(*[values[i] for i in idx])
    new = list(values)
    node = None
    for i, o in zip(idx, outs):
        new[i] = o
        if node is None and o.grad_fn is not None:
            node = o.grad_fn
    return tuple(new), node, idx


def _pack(idx, grads, n):
    out = [None] * n
    for i, g in zip(idx, grads):
        out[i] = g
    return tuple(out)


class BackwardHook:
    """The state of one module call with backward hooks: its grad_output waits here for grad_input."""

    def __init__(self, module):
        self.module = module
        self.n_inputs = 0
        self.input_idx = None  # None: no input requires grad (the hooks then run at the outputs)
        self.grad_outputs = None

    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        new, node, idx = _wrap(args)
        if node is not None:
            self.input_idx = idx
            node.register_hook(self._on_inputs)
        return new

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        values = (result,) if single else result
        if not isinstance(values, tuple):
            return result  # NOTE: as PyTorch: only a tensor or a tuple of tensors gets hooked
        new, node, idx = _wrap(values)
        if node is not None:
            self.output_idx, self.n_outputs = idx, len(values)
            node.register_prehook(self._on_outputs)
        return new[0] if single else new

    def _on_outputs(self, grads):
        module = self.module
        grad_output = _pack(self.output_idx, grads, self.n_outputs)
        for hook in tuple(module._backward_pre_hooks.values()):
            r = hook(module, grad_output)
            if r is not None:
                if len(r) != len(grad_output):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(r)}, "
                                       f"but expected {len(grad_output)}")
                grad_output = tuple(r)
        self.grad_outputs = grad_output
        if self.input_idx is None:
            grad_input = (None,) * self.n_inputs
            for hook in tuple(module._backward_hooks.values()):
                r = hook(module, grad_input, grad_output)
                if r is not None and any(g is not None for g in r):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(grad_output[i] for i in self.output_idx)

    def _on_inputs(self, grad_inputs, _grad_outputs):
        module = self.module
        grad_input = _pack(self.input_idx, grad_inputs, self.n_inputs)
        for hook in tuple(module._backward_hooks.values()):
            r = hook(module, grad_input, self.grad_outputs)
            if r is not None:
                if len(r) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(r)}, but "
                                       f"expected {len(grad_input)}")
                grad_input = tuple(r)
        self.grad_outputs = None
        return tuple(grad_input[i] for i in self.input_idx)
