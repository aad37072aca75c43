"""Function: an op with a forward and a backward. Built-in ops and users' custom ops alike.

`Function.apply(*args)` runs `forward(ctx, *args)` and, when grad mode is on and an input requires
grad, links a node into the graph. The node *is* the ctx: each Function subclass gets a node class
named as PyTorch names it (`MulBackward0` for built-ins via `node_name`, `<Name>Backward` for
custom Functions), whose `apply` calls the Function's `backward(ctx, *grads)`.

Built-in ops (`_builtin = True`, in tritongrad/ops) return backend arrays from forward and list
their inputs first (`_n_inputs`, Python scalars included, as PyTorch wraps them). They are written
PyTorch 2 style, `forward(*args)` then `setup_context(ctx, inputs, output)`, so that without a graph
an op costs its computation alone; `forward(ctx, *args)` remains for the rare op whose backward
needs values only its forward computes (nll_loss's class mask). Custom Functions
return Tensors and run forward under no_grad, as in PyTorch; what their backward returns is checked
as PyTorch's engine checks it (count, type, shape, device; dtype cast, broadcast shapes summed).
`once_differentiable` marks a backward that cannot itself be differentiated.
"""
import functools
import warnings

from .._tensor_base import TensorBase as _Tensor
from .grad_mode import no_grad, shared, state
from .graph import _NO_EDGE, FREED, Node, SavedTensor, _sequence, edge


class BackwardNode(Node):
    """The node of a Function call, and the `ctx` its forward and backward receive."""

    _forward_cls = None
    _to_save = _dirty = _non_diff = None
    _materialize = True

    def save_for_backward(self, *tensors):
        """Save tensors (or None) for backward; read them back with `ctx.saved_tensors`.

        NOTE: a built-in op saves only inputs (its output is made after setup_context, and saved by
        `_save_output`), so they are packed at once; a custom Function's may be outputs (see below).
        """
        if shared.inference_seen:  # fast path (grad_mode.py): ungated, 1.1-1.8% more instructions on bench_overhead
            _check_not_inference(tensors)
        if state.saved_hooks:
            self._saved = _pack(self, tensors, state.saved_hooks)
        elif len(tensors) == 1:
            # fast path: one and two tensors unrolled, here and in _unpacked_arrays (a comprehension is a function
            # call in Python 3.11); without both, bench_overhead's tiny_chain takes 1.1% more instructions,
            # rosenbrock_step 2.2%, net_small_step 1.5% (scripts/callgrind_steps.py)
            t = tensors[0]
            self._saved = [None if t is None else SavedTensor(t, self, None)]
        elif len(tensors) == 2:
            a, b = tensors
            self._saved = [None if a is None else SavedTensor(a, self, None),
                           None if b is None else SavedTensor(b, self, None)]
        else:
            self._saved = [None if t is None else SavedTensor(t, self, None) for t in tensors]

    _pack_order = ()  # slots in PyTorch's save order, for pack hooks (saved_attrs.expose); else slot order
    _hooked = False  # saved under saved_tensors_hooks: unpacked in _pack_order too

    def _unpacked(self):
        """The saved tensors, unpacked and version-checked: a custom Function's `ctx.saved_tensors`,
        a built-in formula's `F.saved(ctx)` (PyTorch's built-in nodes have no `saved_tensors`)."""
        if self._freed:
            raise RuntimeError(FREED)
        if self._saved is None:
            return self._to_save or ()  # no graph was recorded: forward's own tensors
        if self._hooked:  # NOTE: unpack hooks run in PyTorch's order, the tensors come back in slot order
            out = [None] * len(self._saved)
            for i in _order(self._pack_order, len(out)):
                s = self._saved[i]
                out[i] = None if s is None else s.unpack(self)
            return tuple(out)
        return tuple([None if s is None else s.unpack(self) for s in self._saved])

    def _unpacked_arrays(self):
        """saved_tensors' backend arrays (ops/formulas.py), checked as saved_tensors checks them."""
        if self._freed or self._saved is None or self._hooked:
            return [None if t is None else t._data for t in self._unpacked()]
        saved = self._saved
        if len(saved) == 1:  # fast path: unrolled, as in save_for_backward (its figure covers both)
            s = saved[0]
            return [None if s is None else s.data(self)]
        if len(saved) == 2:
            a, b = saved
            return [None if a is None else a.data(self), None if b is None else b.data(self)]
        return [None if s is None else s.data(self) for s in saved]

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place (and returns): their history is rebased onto this node."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that get no gradient (e.g. indices): they do not require grad."""
        self._non_diff = tensors

    def set_materialize_grads(self, value):
        """True (default): backward gets zeros for outputs without a gradient; False: it gets None."""
        self._materialize = bool(value)


INFERENCE_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
                   "mode in computation tracked by autograd. To work around this, you can make a clone to get a "
                   "normal tensor and use it in autograd, or use `tritongrad.no_grad()` instead of "
                   "`tritongrad.inference_mode()`.")


def _pack(node, tensors, hooks):
    """SavedTensors (saved-tensor pack hooks run) made in PyTorch's save order for the node, kept in slot order."""
    saved = [None] * len(tensors)
    for i in _order(node._pack_order, len(tensors)):
        if tensors[i] is not None:
            saved[i] = SavedTensor(tensors[i], node, hooks)
    node._hooked = True
    return saved


def _order(first, n):
    """Slots 0..n-1, those of `first` first (in its order), then the rest (the output, saved last)."""
    first = [i for i in first if i < n]
    return first + [i for i in range(n) if i not in first]


def _check_not_inference(tensors):
    """PyTorch's error for an inference tensor (inference_mode) saved by an op that records a graph."""
    for t in tensors:
        if t is not None and t.is_inference():
            raise RuntimeError(INFERENCE_SAVED)


class CustomBackwardNode(BackwardNode):
    """The node (and ctx) of a user's Function: its backward's results are checked as PyTorch checks them."""

    saved_tensors = property(BackwardNode._unpacked)

    def save_for_backward(self, *tensors):
        """Save tensors (or None) for backward; read them back with `ctx.saved_tensors` (version-checked)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    def apply(self, *grads):
        return _backward_custom(self, grads)


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
    _multi_output = False  # built-ins returning a tuple: every output differentiable (split), not only the first

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("node_name") or f"{cls.__name__}Backward"
        attrs = {"_forward_cls": cls, "__module__": cls.__module__}
        cpp = cls.__dict__.get("cpp_node_name")
        if cpp:  # NOTE: PyTorch's hand-written C++ nodes (CopyBackwards) give name() with their namespace
            attrs["name"] = lambda self: cpp
        if cls._builtin:
            attrs["apply"] = cls.backward  # NOTE: node.apply(g) calls backward(node, g): no extra frame
            attrs["_formula"] = getattr(cls, "formula", None)  # see ops/formulas.py
        # PyTorch 2 style: forward(*args) computes, setup_context(ctx, inputs, output) saves; a
        # built-in of this style runs without a graph at the cost of its computation alone.
        cls._new_style = cls.setup_context is not Function.__dict__["setup_context"].__func__
        cls._backward_cls = type(name, (BackwardNode if cls._builtin else CustomBackwardNode,), attrs)
        if cls._builtin and "apply" not in cls.__dict__:
            cls.apply = _builtin_apply(cls)  # NOTE: a plain function, not a staticmethod: called on the class, faster

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional (PyTorch 2 style): `forward(*args)` without ctx, then `setup_context(ctx, args, output)`."""
        raise NotImplementedError("setup_context is not implemented.")

    @classmethod
    def apply(cls, *args):
        record = False
        if state.grad_enabled:
            for a in args:
                if isinstance(a, _Tensor) and a._requires_grad:
                    record = True
                    break
        return _apply_custom(cls, args, record)


def _builtin_apply(cls):
    """The `apply` of built-in op `cls`: its computation alone without a graph (backward's and
    no_grad's common case), else the computation and a node linked into the graph.

    Made once per class, with the class's attributes bound here (fast path: looked up on every call
    instead, bench_overhead's tiny_chain takes 2.8% more instructions, rosenbrock_step 3.7%,
    net_small_step 2.2%; scripts/callgrind_steps.py).
    """
    n, new_style, save_output, multi = cls._n_inputs, cls._new_style, cls._save_output, cls._multi_output
    forward, setup_context, node_cls = cls.forward, cls.setup_context, cls._backward_cls

    def apply(*args):
        a = args[0]  # NOTE: a built-in op's first argument is a Tensor
        make = a._make
        record = False
        # An input that requires grad means a graph. fast path: one and two inputs unrolled, here and for the
        # edges below; without it bench_overhead's tiny_chain takes 9.8% more instructions, rosenbrock_step
        # 13.8%, net_small_step 5.7% (scripts/callgrind_steps.py)
        if state.grad_enabled:
            if n == 1:
                record = a._requires_grad
            elif n == 2:
                b = args[1]
                ra = a._requires_grad
                rb = (b.__class__ is a.__class__ or isinstance(b, _Tensor)) and b._requires_grad
                record = ra or rb
            else:
                needs = tuple([isinstance(t, _Tensor) and t._requires_grad for t in args[:n]])
                record = any(needs)
        if not record:
            out = forward(*args) if new_style else forward(_NULL, *args)
            return make(out) if out.__class__ is not tuple else tuple(make(o) for o in out)
        if n == 1:
            edges, needs = (edge(a),), (True,)
        elif n == 2:
            edges, needs = (edge(a) if ra else _NO_EDGE, edge(b) if rb else _NO_EDGE), (ra, rb)
        else:
            edges = tuple([edge(a) if r else _NO_EDGE for a, r in zip(args, needs)])
        node = node_cls()
        node.next_functions, node.needs_input_grad = edges, needs
        node._seq = next(_sequence)  # NOTE: after the edges, whose views' refreshed history is older (see engine)
        if new_style:
            raw = forward(*args)
            setup_context(node, args, raw)
        else:
            raw = forward(node, *args)
        if raw.__class__ is tuple:  # values and non-differentiable companions (e.g. max's indices)
            outs = tuple(make(r) for r in raw)
            node._num_outputs, node._formula = len(outs), None  # NOTE: a formula takes one gradient
            if multi:  # one node, output_nr per output (PyTorch's SplitBackward0)
                for nr, o in enumerate(outs):
                    o._grad_fn, o._output_nr, o._requires_grad = node, nr, True
                if save_output:  # NOTE: every output (linalg.svd's U, S, Vh)
                    node._saved = (node._saved or []) + [SavedTensor(o, node, state.saved_hooks) for o in outs]
                return outs
            out = outs[0]
        else:
            outs = out = make(raw)
        out._grad_fn, out._requires_grad = node, True
        if save_output:
            node._saved = (node._saved or []) + [SavedTensor(out, node, state.saved_hooks)]
        if shared.anomaly:
            from .anomaly import record_traceback

            record_traceback(node)
        return outs

    apply.__qualname__ = f"{cls.__qualname__}.apply"
    return apply


# --- custom Functions ---------------------------------------------------------------------------
def _apply_custom(cls, args, record):
    """Run a user's forward under no_grad and, when recording, make its outputs the node's outputs."""
    Tensor = _Tensor
    node = cls._backward_cls()
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    node.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad and record for a in args)
    if record:  # NOTE: the inputs' history as it is before forward (which may modify them in place)
        node._positions = positions
        node.next_functions = tuple(edge(args[i]) for i in positions)
        node._input_meta = tuple((args[i].shape, args[i]._dtype, args[i].device) for i in positions)
    with no_grad():
        if cls._new_style:
            out = cls.forward(*args)
            cls.setup_context(node, args, out)
        else:
            out = cls.forward(node, *args)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dirty = _check_dirty(node._dirty or (), args, outs, record)
    if not record:
        return out
    node._seq = next(_sequence)
    non_diff = node._non_diff or ()
    new_outs, node._output_meta = [], []
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            new_outs.append(o)
            node._output_meta.append(None)
            continue
        is_dirty = any(o is d for d in dirty)
        if not is_dirty and any(o is a for a in args):
            o = o._alias()  # returning an input unchanged: the output is a new tensor (as a view in PyTorch)
        node._output_meta.append((o.shape, o._dtype, o.device))
        if any(o is d for d in non_diff) or not o._dtype.is_floating_point:
            o._requires_grad = o._requires_grad and o._grad_fn is not None
        elif is_dirty and o._base is not None and o._base._requires_grad:
            _rebase_view(node, o, outs, args)
        else:
            o._grad_fn, o._output_nr, o._requires_grad = node, nr, True
        new_outs.append(o)
    node._num_outputs = len(outs)
    if node._to_save is not None:
        if shared.inference_seen:
            _check_not_inference(node._to_save)
        node._saved = [None if t is None else SavedTensor(t, node, state.saved_hooks) for t in node._to_save]
        node._to_save = None
    if shared.anomaly:
        from .anomaly import record_traceback

        record_traceback(node)
    return new_outs[0] if single else tuple(new_outs)


def _check_dirty(dirty, args, outs, record):
    """mark_dirty's rules (PyTorch's messages); bumps each dirty tensor's version once more, as PyTorch does."""
    for t in dirty:
        if not any(t is a for a in args):
            warnings.warn("ctx.mark_dirty() received a tensor that was not an input. Only input Tensors that have "
                          "been mutated should be passed to ctx.mark_dirty().", UserWarning, stacklevel=4)
        if not any(t is o for o in outs):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                               "The inputs that are modified inplace must all be outputs of the Function.")
        t._vc[0] += 1
        if record and t._grad_fn is None and t._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        base = t._base
        if record and base is not None and base._grad_fn is None and base._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    return dirty


def _rebase_view(node, view, outs, args):
    """A view modified in place by a custom Function: its base's history becomes CopySlices(node)."""
    from .views import copy_slices

    if len(outs) != 1 or args[node._positions[0]] is not view:
        raise RuntimeError(f"{node.name()}: mark_dirty() on a view is supported only when the view is the "
                           "Function's first tensor argument and its only output (tritongrad limitation)")
    copy_slices(view, node)


def _backward_custom(node, grads):
    """Run a custom Function's backward: materialize missing grads, then check and route its results."""
    if node._materialize and any(g is None for g in grads):
        from ..backends import get

        make = next(g for g in grads if g is not None)._make  # NOTE: the engine runs a node some gradient reached
        grads = tuple(make(get(m[2].type).full(m[0], 0, m[1])) if g is None and m is not None else g
                      for g, m in zip(grads, node._output_meta))
    out = node._forward_cls.backward(node, *grads)
    out = out if isinstance(out, tuple) else (out,)
    n_args = len(node.needs_input_grad)
    if len(out) < n_args or any(g is not None for g in out[n_args:]):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_args}, got {len(out)})")
    for i, g in enumerate(out[:n_args]):
        if g is not None and not isinstance(g, _Tensor):
            raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
        if g is not None and i not in node._positions:
            raise RuntimeError(f"function {node.name()} returned a gradient different than None at position "
                               f"{i + 1}, but the corresponding forward input was not a Variable")
    return tuple(_validate(node, k, out[i]) for k, i in enumerate(node._positions))


def _validate(node, k, g):
    """Gradient k (for the k-th tensor input) against the input's shape, device and dtype, as PyTorch's
    engine checks it: a broadcast shape is summed back, another shape or device is an error, dtype is cast."""
    if g is None:
        return g
    shape, dtype, device = node._input_meta[k]
    if g.shape != shape:
        if not _expandable(shape, g.shape):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {k} - got "
                               f"{_dims(g.shape)} but expected shape compatible with {_dims(shape)}")
        g = g.sum_to_size(shape)
    if g.device != device:
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {k} - expected device "
                           f"{device} but got {g.device}")
    if g._dtype is not dtype:
        g = g.to(dtype)
    return g


def _dims(shape):
    return f"[{', '.join(str(s) for s in shape)}]"


def _expandable(shape, target):
    """Whether `shape` broadcasts to `target` (PyTorch's is_expandable_to)."""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


# --- once_differentiable ------------------------------------------------------------------------
class Error(Node):
    """The grad_fn of a @once_differentiable backward's results: differentiating them raises."""

    def __init__(self, msg, num_outputs):
        self.msg, self._num_outputs, self._seq = msg, num_outputs, next(_sequence)

    def apply(self, *grads):
        raise RuntimeError(self.msg)


def once_differentiable(fn):
    """Decorate a custom Function's backward that is not itself differentiable: it runs under no_grad, and
    differentiating its results (create_graph) raises instead of silently giving wrong higher-order gradients.

    Example:
        >>> @staticmethod
        ... @tg.autograd.function.once_differentiable
        ... def backward(ctx, grad): ...
    """

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not state.grad_enabled or not any(isinstance(a, _Tensor) and a._requires_grad for a in args):
            return outputs
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        err = Error("trying to differentiate twice a function that was marked with @once_differentiable", len(outs))
        wrapped = []
        for nr, o in enumerate(outs):
            if isinstance(o, _Tensor):
                o = o._alias()
                o._grad_fn, o._output_nr, o._requires_grad = err, nr, True
            wrapped.append(o)
        return tuple(wrapped) if isinstance(outputs, tuple) else wrapped[0]

    return wrapper
