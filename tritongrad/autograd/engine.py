"""The backward engine: `backward()` and `grad()` walk the graph from the outputs to the leaves.

Nodes run in dependency order (a node runs once every node that feeds it a gradient has run),
newest first among the ready ones, as PyTorch's engine orders them. Each node's gradients are
summed in a buffer before it runs; hooks run around it; its saved tensors are freed right after
it runs unless `retain_graph`, so memory drops as backward proceeds.
"""
import operator
from heapq import heapify, heappop, heappush

from .grad_mode import set_grad_enabled, shared, state
from .graph import AccumulateGrad, edge
from .hooks import check_hook_result, check_hook_results

_tensor_cls = None  # set by tensor.py
_array_formulas = None  # ops.formulas.ARRAYS (F by array class), set by tensor.py
_warned_create_graph = False  # NOTE: PyTorch warns once per process

CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient "
    "which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you "
    "have to use this function, make sure to reset the .grad fields of your parameters to None after use to break "
    "the cycle and avoid the leak.")


def _size_str(shape):
    return f"tritongrad.Size([{', '.join(str(s) for s in shape)}])"


def _make_grads(outputs, grad_outputs):
    Tensor, grads = _tensor_cls, []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if t._requires_grad:
                if t.numel() != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not t.dtype.is_floating_point:
                    raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
                g = _tensor_cls._make(t._be.full(t._data.shape, 1, t._dtype))
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        elif g.shape != t.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {_size_str(g.shape)} and "
                               f"output[{i}] has a shape of {_size_str(t.shape)}.")
        elif g.device != t.device:
            raise RuntimeError(f"invalid gradient at index {i} - expected device {t.device} but got {g.device}")
        elif g._dtype is not t._dtype:
            g = g.to(t._dtype)  # NOTE: as PyTorch's engine casts what flows into a node to its input's dtype
        grads.append(g)
    return grads


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, _tensor_cls) else tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Sum the gradients of `tensors` into the `.grad` of the graph's leaves (or of `inputs`).

    Args:
        tensors: the outputs (a Tensor or a sequence) to differentiate.
        grad_tensors: d(something)/d(output) for each output; may be None for scalar outputs.
        retain_graph: keep saved tensors for another backward (default: `create_graph`).
        create_graph: record the backward pass itself, for higher-order gradients.
        inputs: only accumulate into these tensors' `.grad`.
    """
    if (grad_tensors is None and inputs is None and not create_graph and tensors.__class__ is _tensor_cls
            and tensors._grad_fn is not None and not shared.anomaly):
        # NOTE: `loss.backward()`, the common call, straight to the engine
        shape = tensors._data.shape
        if shape.count(1) != len(shape) or not tensors._dtype.is_floating_point:
            _make_grads((tensors,), (None,))  # NOTE: raises PyTorch's error (0 or many elements, not a float)
        _run_all((edge(tensors),), (tensors._be.full(shape, 1, tensors._dtype),), bool(retain_graph), False)
        return
    tensors = _as_tuple(tensors)
    grad_tensors = (None,) * len(tensors) if grad_tensors is None else _as_tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grad_tensors)} gradients")
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grads = _make_grads(tensors, grad_tensors)
    if create_graph:
        _warn_create_graph()
    if inputs is not None:
        for t in inputs:
            if t._grad_fn is not None or not t._requires_grad:
                t.retain_grad()  # NOTE: as PyTorch: a non-leaf input's .grad is filled as a retained grad
    _run(tensors, grads, create_graph if retain_graph is None else retain_graph, create_graph, inputs, True)


def _warn_create_graph():
    global _warned_create_graph
    if not _warned_create_graph:
        _warned_create_graph = True
        import warnings

        warnings.warn(CREATE_GRAPH_WARNING, UserWarning, stacklevel=4)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, as a tuple; `.grad` is left alone.

    Example:
        >>> (dx,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)   # 3 x**2, differentiable
    """
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not allow_unused and materialize_grads:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True")
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outputs, grad_outputs)
    result = _run(outputs, grads, create_graph if retain_graph is None else retain_graph, create_graph, inputs,
                  False)
    out = []
    for i, (t, g) in enumerate(zip(inputs, result)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = _tensor_cls._make(t._be.full(t.shape, 0, t.dtype))
        out.append(g)
    return tuple(out)


def _capture_point(t):
    """Where the gradient for input `t` can be read: its grad_fn's output, or its AccumulateGrad."""
    if t._grad_fn is not None:
        return (t._grad_fn, t._output_nr)
    acc = t._accumulator(create=False)
    return (acc, 0) if acc is not None else None


def _needed(roots, targets):
    """Nodes from which some target node can be reached (only those need to run)."""
    needed, done = set(targets), set()
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if any(nxt in needed for nxt, _ in node.next_functions if nxt is not None):
                needed.add(node)
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((nxt, False) for nxt, _ in node.next_functions if nxt is not None and nxt not in done)
    return needed


def _run(outputs, grads, retain_graph, create_graph, inputs, accumulate):
    """Run the graph from `outputs`; returns the gradients captured for `inputs`.

    Without `inputs`, outside anomaly mode: `_run_all`. Otherwise only the nodes from which an input
    can be reached run, each once the gradient edges counted into it have all delivered, newest
    first among the ready ones.
    """
    roots = []
    for i, t in enumerate(outputs):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append(edge(t))
    if inputs is None and not shared.anomaly:
        _run_all(roots, grads if create_graph else [g._data for g in grads], retain_graph, create_graph)
        return []
    captures = {}  # (node, output_nr) -> index into inputs
    needed, skip = None, ()
    if inputs is not None:
        for i, t in enumerate(inputs):
            point = _capture_point(t)
            if point is not None:
                captures.setdefault(point, []).append(i)
        needed = _needed([n for n, _ in roots], {n for n, _ in captures})
        if not accumulate:  # grad(): a node passed as an input runs only if another input lies beyond it
            skip = {n for n, _ in captures if not any(nxt in needed for nxt, _ in n.next_functions)}

    # Count, for every node that will run, how many gradient edges lead into it.
    deps = {n: 0 for n, _ in roots if needed is None or n in needed}
    stack = list(deps)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            elif needed is None or nxt in needed:
                deps[nxt] = 1
                stack.append(nxt)

    buffers = {}
    for (node, nr), g in zip(roots, grads):
        if node in deps:
            _add(buffers, node, nr, g)
    ready = [(-n._seq, n) for n in buffers if deps[n] == 0]
    heapify(ready)
    captured = [None] * (len(inputs) if inputs is not None else 0)
    borrowed = {id(g._data) for g in grads if g is not None}  # the caller's tensors: never stolen
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    try:
        while ready:
            node = heappop(ready)[1]
            out = _run_node(node, buffers.pop(node, None), captures, captured, accumulate, create_graph, borrowed,
                            retain_graph, node not in skip)
            for (nxt, nr), g in zip(node.next_functions, out):
                d = deps.get(nxt)
                if d is None:  # no node, or one not needed for `inputs`
                    continue
                if g is not None:
                    _add(buffers, nxt, nr, g)
                deps[nxt] = d - 1
                if d == 1:
                    heappush(ready, (-nxt._seq, nxt))
    finally:
        state.grad_enabled = prev_mode
    return captured


def _run_all(roots, grads, retain_graph, create_graph):
    """backward() without `inputs`: every node a gradient reaches runs once, newest first, in one pass.

    A node is numbered (`_seq`) after the nodes its inputs come from, leaves' AccumulateGrad nodes
    included (see `edge`), so the newest node waiting has all its gradients: a heap of the waiting
    nodes is the whole schedule, with no dependency count, and it runs ops' nodes in the order of
    PyTorch's ready queue (which runs a leaf's node as soon as it is ready, not in its number's
    turn). Without create_graph nothing is recorded and gradients travel as backend arrays, `grads`
    included (each root gradient has its output's dtype and device, see `_make_grads`): ops'
    derivative formulas run on them directly (ops/formulas.py); a node without a formula gets them
    wrapped as Tensors, and so does a node with hooks or retained grads (`_run_other`). With
    create_graph, `grads` and all gradients are Tensors. A gradient waits in `pending`: the array or
    Tensor itself for a node of one output, a list for the others; `_NO_GRAD` for a node that only
    None reached, which still runs to free its saved tensors.
    """
    arrays = not create_graph
    add = _add_arrays if arrays else operator.add
    if len(roots) == 1 and roots[0][0]._num_outputs == 1:  # NOTE: `loss.backward()`
        node, g = roots[0][0], grads[0]
        pending, heap, borrowed = {node: g}, [(-node._seq, node)], {id(g if arrays else g._data)}
    else:
        pending, heap = {}, []
        borrowed = {id(g if arrays else g._data) for g in grads}  # the caller's gradients: never stolen
        for (node, nr), g in zip(roots, grads):
            _give(pending, heap, None, node, nr, g, add)
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    try:
        while heap:
            node = heappop(heap)[1]
            g = pending.pop(node)
            if arrays and node._formula is not None and node._plain and g is not _NO_GRAD:  # NOTE: most nodes
                out = node._formula(_array_formulas[g.__class__], g)  # NOTE: bound, as apply: formula(node, F, g)
                if not retain_graph and node._saved is not None:
                    node._saved, node._freed = None, True
            elif node.__class__ is AccumulateGrad and g is not _NO_GRAD:
                t = node.variable
                grad = t._grad
                if (arrays and grad is not None and t._hooks is None and t._post_acc_hooks is None
                        and node._pre_hooks is None and node._post_hooks is None and not grad._requires_grad
                        and grad._dtype is t._dtype and grad._data.shape == g.shape):  # NOTE: most leaves
                    # NOTE: g has t's dtype (the engine keeps each gradient in its input's dtype)
                    grad._be.binary_("add", grad._data, g)  # NOTE: _accumulate's in-place add, on the array
                    grad._vc[0] += 1
                else:
                    _accumulate_leaf(node, g, arrays, create_graph, borrowed)
                continue
            else:
                out = _run_other(node, g, arrays, retain_graph, create_graph, borrowed)
            edges = node.next_functions
            # NOTE: the loop below, unrolled for a node of one input (most nodes): without the tuple and
            # zip, a Rosenbrock step's backward runs 3.5% fewer instructions
            if out.__class__ is not tuple:
                nxt, nr = edges[0]
                if out is not None and nxt is not None and nxt._num_outputs == 1:  # NOTE: _give's common case
                    prev = pending.get(nxt)
                    if prev is None:
                        if nxt._seq >= node._seq:
                            _out_of_order(node, nxt)
                        pending[nxt] = out
                        heappush(heap, (-nxt._seq, nxt))
                    else:
                        pending[nxt] = out if prev is _NO_GRAD else add(prev, out)
                elif nxt is not None:
                    _give(pending, heap, node, nxt, nr, out, add)
                continue
            for (nxt, nr), g in zip(edges, out):
                if g is not None and nxt is not None and nxt._num_outputs == 1:  # NOTE: as above
                    prev = pending.get(nxt)
                    if prev is None:
                        if nxt._seq >= node._seq:
                            _out_of_order(node, nxt)
                        pending[nxt] = g
                        heappush(heap, (-nxt._seq, nxt))
                    else:
                        pending[nxt] = g if prev is _NO_GRAD else add(prev, g)
                elif nxt is not None:
                    _give(pending, heap, node, nxt, nr, g, add)
    finally:
        state.grad_enabled = prev_mode


_NO_GRAD = object()  # pending's mark for a node that only None gradients reached


def _give(pending, heap, src, nxt, nr, g, add):
    """Sum gradient `g` (None: no gradient) from node `src` into input `nr` of node `nxt`, queueing
    `nxt` at its first gradient."""
    buf = pending.get(nxt)
    if buf is None:
        if src is not None and nxt._seq >= src._seq:
            _out_of_order(src, nxt)
        heappush(heap, (-nxt._seq, nxt))
        buf = pending[nxt] = _NO_GRAD
    if g is None:
        return
    if nxt._num_outputs == 1:
        pending[nxt] = g if buf is _NO_GRAD else add(buf, g)
        return
    if buf is _NO_GRAD:
        buf = pending[nxt] = [None] * nxt._num_outputs
    prev = buf[nr]
    buf[nr] = g if prev is None else add(prev, g)


def _accumulate_leaf(node, g, arrays, create_graph, borrowed):
    """A leaf's AccumulateGrad node in `_run_all` (but for its inline case): `.grad += g`, with its hooks."""
    t, g = node.variable, _tensor_cls._make(g) if arrays else g
    if t._hooks is not None or t._post_acc_hooks is not None or node._pre_hooks is not None or (
            node._post_hooks is not None):
        _run_accumulate_grad(node, [g], None, None, True, create_graph, borrowed)
    else:
        _accumulate(t, g, create_graph, borrowed)


def _run_other(node, g, arrays, retain_graph, create_graph, borrowed):
    """A node of `_run_all` other than a formula on arrays or a leaf: its gradients, checked in number."""
    make = _tensor_cls._make
    if g is _NO_GRAD:  # only None reached it: it runs to free its saved tensors, and passes None on
        if not retain_graph:
            node._release()
        return (None,) * len(node.next_functions)
    if node._plain:  # no hooks: apply, on Tensors
        if not arrays:
            out = node.apply(g) if node._num_outputs == 1 else node.apply(*g)
        else:
            out = _tensors_to_arrays(node.apply(make(g)) if node._num_outputs == 1 else
                                     node.apply(*[None if x is None else make(x) for x in g]))
        if not retain_graph and node._saved is not None:
            node._saved, node._freed = None, True
    else:  # hooks or retained grads
        gs = [g] if node._num_outputs == 1 else list(g)
        out = _run_node(node, [None if x is None else make(x) for x in gs] if arrays else gs, None, None, True,
                        create_graph, borrowed, retain_graph)
        if arrays:
            out = _tensors_to_arrays(out)
    if out.__class__ is not tuple:
        out = (out,)
    if len(out) != len(node.next_functions):
        _wrong_count(node, out)
    return out


def _out_of_order(src, nxt):
    """The one-pass schedule's premise broken: only a hand-edited `_seq` can do this."""
    raise RuntimeError(f"autograd engine: {src.name()} passes a gradient to {nxt.name()}, which is numbered "
                       "after it; the graph's sequence numbers must follow its edges")


def _tensors_to_arrays(out):
    """A node's Tensor gradients (a Tensor, None, or a tuple of them) as backend arrays."""
    if out.__class__ is tuple:
        return tuple([None if g is None else g._data for g in out])
    return None if out is None else out._data


def _add_arrays(a, b):
    """a + b for two gradients (backend arrays) of one tensor."""
    if a.shape == b.shape and (a.dtype is b.dtype or a.dtype == b.dtype):
        return _array_formulas[a.__class__].be.binary("add", a, b)
    make = _tensor_cls._make
    return (make(a) + make(b))._data


def _wrong_count(node, out):
    raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                       f"(expected {len(node.next_functions)}, got {len(out)})")


def _add(buffers, node, nr, g, add=None):
    """Sum gradient `g` into the buffer of `node`'s output `nr` (with `add`, when given)."""
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node._num_outputs
    prev = buf[nr]
    if prev is None:
        buf[nr] = g
    else:
        buf[nr] = prev + g if add is None else add(prev, g)


def _run_tensor_hooks(hooks, g):
    for hook in tuple(hooks.values()):
        r = hook(g)
        if r is not None:
            g = check_hook_result(hook, g, r)
    return g


def _run_node(node, grads, captures, captured, accumulate, create_graph, borrowed, retain_graph, execute=True):
    """Run one node with its hooks; returns its gradients, one per next_functions edge.

    Order, as PyTorch's engine: tensor hooks, retained grads, node pre-hooks, the node, node post-hooks.
    NOTE: PyTorch's docs list retained grads after the pre-hooks, but its engine updates them before
    (a pre-hook already sees the new `.grad`, and its replacement does not reach it); we follow the engine.
    `execute` is False for a node that grad() only reads a gradient from: then only tensor hooks run.
    """
    if grads is None:  # nothing flowed in: every input gets nothing
        if not retain_graph:
            node._release()
        return (None,) * len(node.next_functions)
    if type(node) is AccumulateGrad:
        return _run_accumulate_grad(node, grads, captures, captured, accumulate, create_graph, borrowed)
    if captures and execute:  # NOTE: PyTorch captures a node's incoming gradient before tensor hooks if it runs
        _capture(node, grads, captures, captured)
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            if grads[nr] is not None and hooks:
                grads[nr] = _run_tensor_hooks(hooks, grads[nr])
    if node._retained:
        for nr, ref in node._retained.items():
            t, g = ref(), grads[nr]
            if t is not None and g is not None:  # NOTE: no detach: with create_graph it keeps history (PyTorch)
                t._grad = g.clone() if t._grad is None else t._grad + g
    if not execute:
        _capture(node, grads, captures, captured)
        return ()
    if node._pre_hooks:
        grads = list(_run_pre_hooks(node, grads))
    if shared.anomaly:
        from .anomaly import run_checked

        out = run_checked(node, grads)
    else:
        out = node.apply(*grads)
    if not retain_graph:
        node._release()
    if type(out) is not tuple:
        out = (out,)
    if len(out) != len(node.next_functions):
        _wrong_count(node, out)
    if node._post_hooks:
        for hook in tuple(node._post_hooks.values()):
            r = hook(out, tuple(grads))
            if r is not None:
                out = check_hook_results(hook, out, r)
    return out


def _capture(node, grads, captures, captured):
    for nr in range(len(grads)):
        for i in captures.get((node, nr), ()):
            captured[i] = grads[nr]


def _run_pre_hooks(node, grads):
    grads = tuple(grads)
    for hook in tuple(node._pre_hooks.values()):
        r = hook(grads)
        if r is not None:
            grads = check_hook_results(hook, grads, r)
    return grads


def _run_accumulate_grad(node, grads, captures, captured, accumulate, create_graph, borrowed):
    """A leaf's node: tensor hooks, then (backward() only) pre-hooks, `.grad +=`, post-accumulate hooks, post-hooks."""
    t, g = node.variable, grads[0]
    if t._hooks:
        g = _run_tensor_hooks(t._hooks, g)
    if captures:
        for i in captures.get((node, 0), ()):
            captured[i] = g
    if accumulate:
        if node._pre_hooks:
            (g,) = _run_pre_hooks(node, (g,))
        if t._hooks or node._pre_hooks or node._post_hooks or t._post_acc_hooks:
            # NOTE: a hook saw (or will see) g, and may keep it or write to it: .grad gets its own copy.
            # PyTorch takes a gradient only when nothing else holds it; the array path checks less.
            borrowed.add(id(g._data))
        _accumulate(t, g, create_graph, borrowed)
        if node._post_hooks:
            for hook in tuple(node._post_hooks.values()):
                hook((), (g,))
    return ()


def _accumulate(t, g, create_graph, borrowed):
    """t.grad += g, as PyTorch's AccumulateGrad: take g's memory when nobody else can see it."""
    if t._grad is None:
        if create_graph:
            t._grad = g.clone()
        elif id(g._data) not in borrowed and g._be.owns_memory(g._data):
            borrowed.add(id(g._data))
            t._grad = g if g._grad_fn is None else g.detach()
        else:
            t._grad = g.detach().clone()
    elif create_graph or t._grad._requires_grad:
        t._grad = t._grad + g
    elif t._grad._data.shape == g._data.shape and t._grad._dtype is g._dtype and t._grad._be is g._be:
        t._grad._be.binary_("add", t._grad._data, g._data)  # NOTE: what add_ does, minus its checks
        t._grad._vc[0] += 1
    else:
        t._grad.add_(g)
    if t._post_acc_hooks:
        with set_grad_enabled(create_graph):  # NOTE: no_grad, unless create_graph (PyTorch)
            for hook in tuple(t._post_acc_hooks.values()):
                if hook(t) is not None:
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")
