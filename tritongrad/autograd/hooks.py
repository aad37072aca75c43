"""Hooks. Saved-tensor hooks: `saved_tensors_hooks(pack, unpack)` and `save_on_cpu()`, thread-local;
and running backward hooks for the engine: a node with its hooks around it in PyTorch's order, with
PyTorch's checks of what the hooks return.

Every tensor an op saves for backward while such a context is active is handed to `pack` once (under
no_grad, when the op runs); backward calls `unpack` on what pack returned, each time it needs the
tensor. The unpacked tensor is given back the saved tensor's place in the graph (graph.SavedTensor),
so higher-order gradients still flow through it.
"""
from .anomaly import run_checked
from .grad_mode import shared, state


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


# --- backward hooks: run for the engine, which passes the Tensor class (tensor.py imports us) ------------
def run_hooked(node, grads, run, tensor_cls):
    """A node's `apply` on Tensors with its hooks, in PyTorch's engine's order: (grad()) capture, tensor
    hooks, retained grads, pre-hooks, the node, post-hooks.

    NOTE: PyTorch's docs list retained grads after the pre-hooks, but its engine updates them before
    (a pre-hook already sees the new `.grad`, and its replacement does not reach it); we follow the engine.
    """
    execute = node not in run.skip
    if execute and node in run.capture_nodes:  # NOTE: PyTorch captures before tensor hooks if the node runs
        capture(node, grads, run)
    if node._tensor_hooks:
        for nr, tensor_hooks in node._tensor_hooks.items():
            if grads[nr] is not None and tensor_hooks:
                grads[nr] = run_tensor_hooks(tensor_hooks, grads[nr], tensor_cls)
    if node._retained:
        for nr, ref in node._retained.items():
            t, g = ref(), grads[nr]
            if t is not None and g is not None:  # NOTE: no detach: with create_graph it keeps history (PyTorch)
                t._grad = g.clone() if t._grad is None else t._grad + g
    if not execute:
        capture(node, grads, run)
        return ()
    if node._pre_hooks:
        grads = list(run_pre_hooks(node, grads, tensor_cls))
    out = run_checked(node, grads) if shared.anomaly else node.apply(*grads)
    if not run.retain_graph:
        node._release()
    if out.__class__ is not tuple:
        out = (out,)
    if len(out) != len(node.next_functions):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(node.next_functions)}, got {len(out)})")
    if node._post_hooks:
        out = run_post_hooks(node, out, grads, tensor_cls)
    return out


def capture(node, grads, run):
    """grad(): keep the gradients that arrive at its inputs' points (engine._filter's run.captures)."""
    for nr, g in enumerate(grads):
        for i in run.captures.get((node, nr), ()):
            run.captured[i] = g


def run_tensor_hooks(hooks, g, tensor_cls):
    """A tensor's hooks on its gradient g, in registration order; each may return a replacement."""
    for hook in tuple(hooks.values()):
        r = hook(g)
        if r is not None:
            g = _checked(hook, g, r, tensor_cls)
    return g


def run_pre_hooks(node, grads, tensor_cls):
    """A node's pre-hooks on its incoming gradients; each may return a replacement tuple."""
    grads = tuple(grads)
    for hook in tuple(node._pre_hooks.values()):
        r = hook(grads)
        if r is not None:
            grads = _checked_tuple(hook, grads, r, tensor_cls)
    return grads


def run_post_hooks(node, out, grads, tensor_cls):
    """A node's post-hooks on (its gradients out, its incoming gradients); each may replace `out`."""
    for hook in tuple(node._post_hooks.values()):
        r = hook(out, tuple(grads))
        if r is not None:
            out = _checked_tuple(hook, out, r, tensor_cls)
    return out


def after_accumulate(node, t, g, tensor_cls):
    """A leaf's post-accumulate-grad hooks (given the leaf), then its AccumulateGrad node's post-hooks."""
    if t._post_acc_hooks:  # NOTE: grad mode is the engine's: off, unless create_graph (PyTorch)
        for hook in tuple(t._post_acc_hooks.values()):
            r = hook(t)
            if r is not None:
                if not isinstance(r, tensor_cls):
                    raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
                raise RuntimeError("Tensor post accumulate grad hooks should return None.")
    if node._post_hooks:
        for hook in tuple(node._post_hooks.values()):
            hook((), (g,))


def _name(hook):
    return getattr(hook, "__name__", repr(hook))


def _checked(hook, old, new, tensor_cls):
    """A hook's replacement for gradient `old`: a Tensor of the same dtype, device and shape."""
    if old is None:
        raise RuntimeError("can't replace a None gradient with a non-None value")
    if not isinstance(new, tensor_cls):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    if new._dtype is not old._dtype or new.device != old.device:
        raise RuntimeError(f"hook '{_name(hook)}' has changed the type of value (was {old.type()} got {new.type()})")
    if new.shape != old.shape:
        raise RuntimeError(f"hook '{_name(hook)}' has changed the size of value")
    return new


def _checked_tuple(hook, old, new, tensor_cls):
    """A node hook's replacement tuple for the gradients `old`."""
    if not isinstance(new, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(new).__name__}'")
    if len(new) != len(old):
        raise RuntimeError(f"hook '{_name(hook)}' has returned an incorrect number of values (got {len(new)}, but "
                           f"expected {len(old)})")
    return tuple(n if n is None else _checked(hook, o, n, tensor_cls) for o, n in zip(old, new))
