"""The backward graph: Node, the leaves' AccumulateGrad, saved tensors, hook handles and view history.

Also the public face of `tritongrad.autograd.graph`, as `torch.autograd.graph`: saved-tensor hooks
(hooks.py) and pictures of the graph (dot.py).
"""
import itertools
import re
import weakref

from .dot import render, to_dot
from .grad_mode import shared, state
from .hooks import save_on_cpu, saved_tensors_hooks

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "to_dot", "render"]

_sequence = itertools.count()

_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
         "with tritongrad.autograd.set_detect_anomaly(True, check_nan=False).")
_HINT_ANOMALY = ("Hint: the backtrace further above shows the operation that failed to compute its gradient. "
                 "The variable in question was changed in there or anywhere later. Good luck!")
FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
         "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
         "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
         "or if you need to access saved tensors after calling backward.")


class RemovableHandle:
    """Returned by every register_* call: `handle.remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self.hooks_ref = weakref.ref(hooks)
        self.id = next(RemovableHandle._ids)

    def remove(self):
        hooks = self.hooks_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _Hooks(dict):
    """id -> hook, in registration order (a dict subclass so that handles can hold a weakref)."""

    def add(self, fn):
        handle = RemovableHandle(self)
        self[handle.id] = fn
        return handle


class Node:
    """A backward function: `apply(*grad_outputs)` returns one gradient per input.

    `next_functions` holds one (node, output_nr) edge per input: (None, 0) for inputs that need no
    gradient. Hooks and retained grads are stored only when someone asks for them.
    """

    next_functions = ()
    _num_outputs = 1
    _plain = True  # NOTE: no hooks and no retained grads: the engine's fast path; cleared by registering one
    _pre_hooks = _post_hooks = _tensor_hooks = _retained = _metadata = None
    _saved = None
    _freed = False
    _formula = None  # a built-in op's derivative formula (ops/formulas.py), which backward() runs on arrays

    def name(self):
        return type(self).__name__

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_prehook(self, fn):
        """fn(grad_outputs) -> new grad_outputs or None, before this node runs."""
        if self._pre_hooks is None:
            self._pre_hooks = _Hooks()
            self._plain = False
        return self._pre_hooks.add(fn)

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> new grad_inputs or None, after this node runs."""
        if self._post_hooks is None:
            self._post_hooks = _Hooks()
            self._plain = False
        return self._post_hooks.add(fn)

    def _release(self):
        self._saved = None
        self._freed = True

    def __call__(self, *grads):
        return self.apply(*grads)

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds incoming gradients into `variable.grad`."""

    _plain = False  # NOTE: leaves take the engine's accumulation path

    def __init__(self, variable):
        self.variable = variable
        self._seq = next(_sequence)

    def name(self):
        return "torch::autograd::AccumulateGrad"  # NOTE: PyTorch's C++ name, as its name() returns it

    def apply(self, grad):
        raise RuntimeError("AccumulateGrad is run by the engine")


def edge(t):
    """The (node, output_nr) a gradient for tensor `t` flows into."""
    if t._base is not None and t._view_version != t._vc[0]:
        refresh_view(t)
    fn = t._grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if t._requires_grad:
        return (t._accumulator(), 0)
    return _NO_EDGE


_NO_EDGE = (None, 0)


def reaching(roots, targets):
    """The nodes from which some target node can be reached, targets included."""
    needed, done = set(targets), set()
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if any(nxt in needed for nxt, _ in node.next_functions if nxt is not None):
                needed.add(node)
        elif node not in done:
            done.add(node)
            stack.append((node, True))
            stack.extend((nxt, False) for nxt, _ in node.next_functions if nxt is not None and nxt not in done)
    return needed


def refresh_view(t):
    """A view whose memory was written in place since its history was recorded: redo it from its base."""
    if t._multi_view and (t._grad_fn is not None or t._base._requires_grad):
        raise multi_view_error(t, True)  # NOTE: split's pieces cannot be redone from their base (PyTorch)
    t._view_version = t._vc[0]
    if t._base._requires_grad and state.grad_enabled:
        fresh = redo_view(t._view_src, t._base)
        t._grad_fn, t._output_nr, t._requires_grad = fresh._grad_fn, fresh._output_nr, True


def redo_view(view_src, base):
    """Apply a view's recorded chain of view methods, `(parent, method, args)` links, to `base`.

    NOTE: a loop, not recursion: PyTorch has no limit on a chain's length, and recursion stopped at
    about 990 views with RecursionError.
    """
    chain = []
    while view_src is not None:
        view_src, method, args = view_src
        chain.append((method, args))
    for method, args in reversed(chain):
        base = getattr(base, method)(*args)
    return base


_BACKWARD = re.compile(r"Backward\d*$")


def _type_str(t):
    return f"[{t.type()} [{', '.join(str(s) for s in t.shape)}]]"


class SavedTensor:
    """A tensor saved for backward, with its version at save time.

    An op's own output is saved without its grad_fn (that would be a cycle: output -> node ->
    output) and gets it back when unpacked.
    """

    __slots__ = ("tensor", "version", "grad_fn", "output_nr", "is_output", "packed", "unpack_hook", "leaf_acc")

    def __init__(self, t, node, hooks):
        """hooks: state.saved_hooks, as the caller read it (a thread-local read costs 0.3% of tiny_chain)."""
        self.version = t._vc[0]
        self.output_nr = t._output_nr
        if t._grad_fn is node:
            self.is_output, self.grad_fn, self.tensor = True, None, t._alias()
        else:
            self.is_output, self.grad_fn, self.tensor = False, t._grad_fn, t
        if hooks:
            self._pack(t, *hooks[-1])
        else:
            self.packed = self.unpack_hook = None

    def _pack(self, t, pack, unpack):
        """saved_tensors_hooks: keep pack(t) instead of t (pack runs once, under no_grad, as in PyTorch)."""
        prev, state.grad_enabled = state.grad_enabled, False
        try:
            self.packed = pack(t)
        finally:
            state.grad_enabled = prev
        if t._vc[0] != self.version:
            raise RuntimeError("A saved tensor pack hook is modifying its input in place. Tensors provided as input "
                               "to pack hook cannot be modified by in-place operations as this can lead to "
                               "unexpected side-effects. Please open an issue if you need to perform in-place "
                               "operations on the input to a pack hook.")
        self.unpack_hook, self.tensor = unpack, None
        # NOTE: a leaf that requires grad: the unpacked copy must route gradients into the leaf's own node
        self.leaf_acc = weakref.ref(t._accumulator()) if t._grad_fn is None and t._requires_grad else None

    def _unpack_hooked(self, node):
        """unpack_hook(packed), given back the saved tensor's place in the graph (as PyTorch does)."""
        data = self.unpack_hook(self.packed)
        if not hasattr(data, "_vc"):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(data).__name__}")
        fn = node if self.is_output else self.grad_fn
        acc = self.leaf_acc() if self.leaf_acc is not None else None
        if fn is None and acc is None:
            return data
        t = data._alias()
        t._requires_grad = True
        if fn is not None:
            t._grad_fn, t._output_nr = fn, self.output_nr
        else:
            t._acc_ref = self.leaf_acc
        return t

    def data(self, node):
        """unpack(node)._data, without making a Tensor when no hook or version error is in the way."""
        t = self.tensor
        if t is not None and t._vc[0] == self.version:
            return t._data
        return self.unpack(node)._data

    def unpack(self, node):
        if self.unpack_hook is not None:
            return self._unpack_hooked(node)
        t = self.tensor
        if t._vc[0] != self.version:
            _modified(node, t, self.version, self.output_nr, self.is_output)
        if self.is_output:
            t = t._alias()
            t._grad_fn, t._output_nr, t._requires_grad = node, self.output_nr, True
        return t


def _modified(node, t, version, output_nr, is_output):
    """PyTorch's error for a saved tensor that was modified in place after it was saved."""
    # NOTE: as PyTorch, a saved input is named by its current grad_fn (the in-place op's node), and
    # (PyTorch 2.13) by its op's name: 'Exp' for ExpBackward0, 'Foo' for a Function's FooBackward
    owner = node if is_output else t._grad_fn
    which = f", which is output {output_nr} of {_BACKWARD.sub('', owner.name())}," if owner is not None else ""
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {_type_str(t)}{which} is at version {t._vc[0]}; expected version {version} "
        f"instead. {_HINT_ANOMALY if shared.anomaly else _HINT}")


_MULTI = ("This view is the output of a function that returns multiple views. Such functions do not allow the "
          "output views to be modified inplace. You should replace the inplace operation by an out-of-place one.")


def multi_view_error(t, indirect):
    """PyTorch's error for an in-place write to an output of split / unbind (or a view of one) while
    autograd records (`indirect`: its base or another view of it was written)."""
    how = "its base or another view of its base has been" if indirect else "is being"
    fn = t._grad_fn
    if fn is None:
        head = f"A view was created in no_grad mode and {how} modified inplace with grad mode enabled."
    else:
        head = f"Output {t._output_nr} of {_BACKWARD.sub('', fn.name())} is a view and {how} modified inplace."
    return RuntimeError(f"{head} {_MULTI}")
