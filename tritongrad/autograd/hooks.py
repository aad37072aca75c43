"""Saved-tensor hooks: `saved_tensors_hooks(pack, unpack)` and `save_on_cpu()`. Thread-local."""
from .grad_mode import state


def current_saved_hooks():
    """The innermost (pack, unpack) pair in effect, or None."""
    stack = state.saved_hooks
    return stack[-1] if stack else None


class saved_tensors_hooks:
    """Within this context, every tensor an op saves for backward goes through `pack(tensor)`,
    and `unpack(packed)` gives it back when backward needs it.

    Example:
        >>> with tg.autograd.graph.saved_tensors_hooks(lambda t: t.cpu(), lambda t: t.cuda()):
        ...     y = (x * x).sum()
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pair = (pack_hook, unpack_hook)

    def __enter__(self):
        if state.saved_hooks is None:
            state.saved_hooks = []
        state.saved_hooks.append(self.pair)
        return self

    def __exit__(self, *exc):
        state.saved_hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep saved activations in host memory and bring them back to their device for backward.

    On CUDA this trades device memory for two copies per saved tensor; on the CPU it changes nothing.
    """

    def __init__(self, pin_memory=False):
        def pack(t):
            return (t.device, t.cpu() if t.device.type != "cpu" else t)

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)
