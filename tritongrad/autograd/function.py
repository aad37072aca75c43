"""Function: an op with a forward and a backward. Built-in ops and users' custom ops alike.

`Function.apply(*args)` runs `forward(ctx, *args)` and, when grad mode is on and an input requires
grad, links a node into the graph. The node *is* the ctx: each Function subclass gets a node class
named as PyTorch names it (`MulBackward0` for built-ins via `node_name`, `<Name>Backward` for
custom Functions), whose `apply` calls the Function's `backward(ctx, *grads)`.

Built-in ops (`_builtin = True`, in tritongrad/ops) return backend arrays from forward and list
their inputs first (`_n_inputs`, Python scalars included, as PyTorch wraps them); custom Functions
return Tensors and run forward under no_grad, as in PyTorch.
"""
from .grad_mode import no_grad, state
from .graph import _NO_EDGE, FREED, Node, SavedTensor, _sequence, edge

_tensor_cls = None  # tritongrad.tensor.Tensor, set by tensor.py (it imports us)


class BackwardNode(Node):
    """The node of a Function call, and the `ctx` its forward and backward receive."""

    _forward_cls = None
    _to_save = _dirty = _non_diff = None
    _materialize = True

    def save_for_backward(self, *tensors):
        """Save tensors (or None) for backward; read them back with `ctx.saved_tensors`."""
        self._to_save = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(FREED)
        if self._saved is None:
            return self._to_save or ()  # no graph was recorded: forward's own tensors
        return tuple(None if s is None else s.unpack(self) for s in self._saved)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def apply(self, *grads):
        fn = self._forward_cls
        if fn._builtin:
            return fn.backward(self, *grads)
        return _backward_custom(self, fn, grads)


class _NullCtx:
    """The ctx of a built-in op run without a graph: saving goes nowhere, attributes are ignored.

    NOTE: a plain instance dict, not a __setattr__ override: attribute stores stay C-speed.
    """

    needs_input_grad = (False,) * 8

    def save_for_backward(self, *tensors):
        pass


_NULL = _NullCtx()


class Function:
    """Base class of differentiable operations; subclass it with static forward and backward.

    Example:
        >>> class Exp(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         y = x.exp()
        ...         ctx.save_for_backward(y)
        ...         return y
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (y,) = ctx.saved_tensors
        ...         return grad * y
    """

    _builtin = False
    _n_inputs = None  # built-ins: how many leading args are inputs (get an edge and a gradient)
    _save_output = False  # built-ins: also save the output (e.g. exp, sigmoid)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("node_name") or f"{cls.__name__}Backward"
        attrs = {"_forward_cls": cls, "__module__": cls.__module__}
        if cls._builtin:
            attrs["apply"] = cls.backward  # NOTE: node.apply(g) calls backward(node, g): no extra frame
        cls._backward_cls = type(name, (BackwardNode,), attrs)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args):
        Tensor = _tensor_cls
        record = False
        if state.grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    record = True
                    break
        if cls._builtin:
            if record:
                return _record_builtin(cls, args)
            out = cls.forward(_NULL, *args)
            return Tensor._make(out) if out.__class__ is not tuple else tuple(Tensor._make(o) for o in out)
        return _apply_custom(cls, args, record)



def _record_builtin(cls, args):
    node = cls._backward_cls()
    node._seq = next(_sequence)
    Tensor = _tensor_cls
    inputs = args[:cls._n_inputs] if cls._n_inputs else args
    node.needs_input_grad = tuple([isinstance(a, Tensor) and a._requires_grad for a in inputs])
    node.next_functions = tuple([edge(a) if isinstance(a, Tensor) else _NO_EDGE for a in inputs])
    raw = cls.forward(node, *args)
    if raw.__class__ is tuple:  # values and non-differentiable companions (e.g. max's indices)
        outs = tuple(Tensor._make(r) for r in raw)
        node._num_outputs = len(outs)
        out = outs[0]
    else:
        outs = out = Tensor._make(raw)
    out._grad_fn, out._requires_grad = node, True
    saved = node._to_save
    if saved is not None or cls._save_output:
        saved = (saved or ()) + ((out,) if cls._save_output else ())
        node._saved = [None if t is None else SavedTensor(t, node) for t in saved]
        node._to_save = None  # NOTE: else the inputs would outlive the freeing of saved tensors
    if state.anomaly:
        from .anomaly import record_traceback

        record_traceback(node)
    return outs


def _apply_custom(cls, args, record):
    Tensor = _tensor_cls
    node = cls._backward_cls()
    node.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad and record for a in args)
    with no_grad():
        out = cls.forward(node, *args)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dirty = node._dirty or ()
    for t in dirty:
        if not any(t is a for a in args):
            raise RuntimeError("mark_dirty only accepts input tensors, but argument 0 isn't one")
    if not record:
        return out
    node._seq = next(_sequence)
    node._positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    node.next_functions = tuple(edge(args[i]) for i in node._positions)
    non_diff = node._non_diff or ()
    new_outs, node._output_meta = [], []
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            new_outs.append(o)
            node._output_meta.append(None)
            continue
        if any(o is d for d in dirty):
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        elif any(o is a for a in args):
            o = o._alias()  # returning an input unchanged: the output is a new tensor (as a view in PyTorch)
        node._output_meta.append((o.shape, o.dtype, o.device))
        if any(o is d for d in non_diff) or not o.dtype.is_floating_point:
            o._requires_grad = o._requires_grad and o._grad_fn is not None
        else:
            o._grad_fn, o._output_nr, o._requires_grad = node, nr, True
        new_outs.append(o)
    node._num_outputs = len(outs)
    if node._to_save is not None:
        node._saved = [None if t is None else SavedTensor(t, node) for t in node._to_save]
        node._to_save = None
    if state.anomaly:
        from .anomaly import record_traceback

        record_traceback(node)
    return new_outs[0] if single else tuple(new_outs)


def _backward_custom(node, fn, grads):
    """Run a custom Function's backward: materialize missing grads, check and route its results."""
    if node._materialize:
        from .. import zeros

        grads = tuple(zeros(m[0], dtype=m[1], device=m[2]) if g is None and m is not None else g
                      for g, m in zip(grads, node._output_meta))
    out = fn.backward(node, *grads)
    out = out if isinstance(out, tuple) else (out,)
    n_args = len(node.needs_input_grad)
    if len(out) < n_args or any(g is not None for g in out[n_args:]):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_args}, got {len(out)})")
    Tensor = _tensor_cls
    for i, g in enumerate(out[:n_args]):
        if g is not None and i not in node._positions:
            raise RuntimeError(f"function {node.name()} returned a gradient different than None at position "
                               f"{i + 1}, but the corresponding forward input was not a Variable")
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"function {node.name()} returned a gradient of type {type(g).__name__} at position "
                            f"{i + 1}; expected a Tensor or None")
    return tuple(out[i] for i in node._positions)
