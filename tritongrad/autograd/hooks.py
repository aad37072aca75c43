"""Saved-tensor hooks: `saved_tensors_hooks(pack, unpack)` and `save_on_cpu()`. Thread-local.

Every tensor an op saves for backward while such a context is active is handed to `pack` once (under
no_grad, when the op runs); backward calls `unpack` on what pack returned, each time it needs the
tensor. The unpacked tensor is given back the saved tensor's place in the graph (graph.SavedTensor),
so higher-order gradients still flow through it.
"""
from .grad_mode import state


class saved_tensors_hooks:
    """Within this context, every tensor an op saves for backward goes through `pack_hook(tensor)`,
    and `unpack_hook(packed)` gives it back when backward needs it.

    Args:
        pack_hook: tensor -> anything; must not modify the tensor in place.
        unpack_hook: what pack_hook returned -> a Tensor with the original's content.

    Example:
        >>> with tg.autograd.graph.saved_tensors_hooks(lambda t: t.cpu(), lambda t: t.cuda()):
        ...     y = (x * x).sum()
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if state.saved_hooks is None:
            state.saved_hooks = []
        state.saved_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        state.saved_hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep saved activations in host memory and bring them back to their device for backward.

    On CUDA this trades device memory for two copies per saved tensor (the forward's activations no
    longer stay on the GPU until backward). As in PyTorch, a CPU tensor is kept as it is, unless
    `pin_memory=True`, which always makes a host copy (plain pageable NumPy memory here: tritongrad
    has no pinned allocator).

    Example:
        >>> with tg.autograd.graph.save_on_cpu():
        ...     loss = model(x).sum()
        >>> loss.backward()
    """

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            if pin_memory and not t.is_cuda:
                return t.device, t.detach().clone()
            return t.device, t.cpu()

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)

