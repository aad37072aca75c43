"""The backward engine: `backward()` and `grad()` walk the graph from the outputs to the leaves.

Their arguments are checked and normalized first, in PyTorch's order with its messages, by
_engine_args.py; what follows here runs a graph.

`loss.backward()`: the root gradient (ones) -> `_schedule`, the one scheduler: nodes a gradient
reaches wait in a heap and run newest first, by the sequence number each got when recorded. A node
is numbered after the nodes its inputs come from (leaves' AccumulateGrad nodes included, see
graph.edge), so the newest waiting node already holds all its gradients, summed: the heap alone is
a topological order, with no dependency counts, and it is the order of PyTorch's ready queue for op
nodes (PyTorch runs a leaf's node as soon as it is ready; here it runs in its number's turn).
`backward(inputs=)` and `grad()` filter it (only nodes from which an input can be reached run);
`grad()` reads the gradients where its inputs receive them instead of accumulating.

The node runner, in the same loop: without create_graph gradients travel as backend arrays and a
built-in op's derivative formula runs on them (ops/formulas.py, the fast path); any other node
runs `apply` on Tensors with its hooks around it (`_run_node`, then hooks.run_hooked); a leaf's
AccumulateGrad adds into `.grad` in one place, under a lock (`_run_leaf`). Saved tensors are freed
as each node runs, unless `retain_graph`, so memory drops as backward proceeds.
"""
import threading
from heapq import heappop, heappush

from . import _engine_args as args, hooks
from .grad_mode import shared, state
from .graph import AccumulateGrad, edge, reaching

# The wiring that needs what imports us (the Tensor class, the ops' formula adapters): install().
_Tensor = None
_ARRAYS = None
_LEAF_LOCK = threading.Lock()  # NOTE: backward() in several threads into one leaf: `.grad +=` loses nothing
_NO_GRAD = object()  # a waiting node that only None gradients reached: it runs to free its saved tensors


def install(tensor_cls, array_formulas):
    """The one wiring call, made by tensor.py once Tensor exists.

    Args:
        tensor_cls: the Tensor class (gradients are wrapped in it for hooks and results).
        array_formulas: backend array class -> the formula adapter F that runs derivative formulas
            on that class's arrays (ops.formulas.ARRAYS).
    """
    global _Tensor, _ARRAYS
    _Tensor, _ARRAYS = tensor_cls, array_formulas


# --- the public calls --------------------------------------------------------------------------------
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Sum the gradients of `tensors` into the `.grad` of the graph's leaves (or of `inputs`).

    Args:
        tensors: the outputs (a Tensor or a sequence) to differentiate.
        grad_tensors: d(something)/d(output) for each output; may be None for scalar outputs.
        retain_graph: keep saved tensors for another backward (default: `create_graph`).
        create_graph: record the backward pass itself, for higher-order gradients.
        inputs: only accumulate into these tensors' `.grad` (a Tensor, a sequence, or a dict's values).
    """
    if tensors.__class__ is _Tensor and grad_tensors is None and inputs is None and not create_graph:
        # fast path: `loss.backward()`, kept outside the three boundaries (op recording, node runner,
        # backends) for what it buys: without it bench_overhead's tiny_chain takes 6.0% more instructions,
        # rosenbrock_step 2.6%, net_small_step 1.7% (scripts/callgrind_steps.py); timed, about 1.5 us of
        # tiny_chain's 22 us (bench_overhead.py, best of 4 interleaved runs on a loaded machine)
        shape = tensors._data.shape
        if tensors._requires_grad and shape.count(1) == len(shape) and tensors._dtype.is_floating_point:
            g = tensors._be.full(shape, 1, tensors._dtype)
            run = _Run()
            run.arrays, run.retain_graph, run.captured, run.borrowed = True, bool(retain_graph), None, {id(g)}
            _schedule((edge(tensors),), (g,), run, None, False)
            return
    tensors, grads, inputs = args.backward_args(_Tensor, tensors, grad_tensors, create_graph, inputs)
    _execute(tensors, grads, create_graph if retain_graph is None else retain_graph, create_graph, inputs, None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, as a tuple (a dict for a dict of inputs);
    `.grad` is left alone.

    Example:
        >>> (dx,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)   # 3 x**2, differentiable
    """
    keys = inputs.keys() if type(inputs) is dict else None
    outputs, grads, inputs, allow_unused = args.grad_args(_Tensor, outputs, inputs, grad_outputs, create_graph,
                                                          only_inputs, allow_unused, is_grads_batched,
                                                          materialize_grads)
    captured = [None] * len(inputs)
    _execute(outputs, grads, create_graph if retain_graph is None else retain_graph, create_graph, inputs, captured)
    return args.grad_results(inputs, keys, captured, allow_unused, materialize_grads, create_graph)


# --- the scheduler -----------------------------------------------------------------------------------
class _Run:
    """One backward pass's settings and state, handed to the node runner."""

    __slots__ = ("arrays", "retain_graph", "captured", "borrowed", "__dict__")
    captures = None  # grad(): (node, output_nr) -> the indices of the inputs whose gradient arrives there
    capture_nodes = skip = ()  # grad(): the nodes of those points, and those of them only read, not run


class _Source:
    """Where the roots' gradients come from: numbered after every node."""

    _seq = float("inf")


def _execute(outputs, grads, retain_graph, create_graph, inputs, captured):
    """Run the graph from `outputs` (root gradients `grads`, as _make_grads gives them). With `inputs`,
    only the nodes from which one can be reached run; `captured` (grad()'s result list) then receives
    each input's gradient where it arrives, and no leaf is accumulated."""
    args.check_outputs(outputs, grads)
    roots = [edge(t) for t in outputs]
    run = _Run()
    run.arrays, run.retain_graph, run.captured = not create_graph, retain_graph, captured
    needed = None if inputs is None else _filter(roots, args.arrival_points(_Tensor, inputs, captured is None), run)
    # NOTE: ids of arrays never to be taken as a .grad: the caller's gradients, and those a hook saw
    run.borrowed = set(map(id, grads)) if run.arrays else {id(g._data) for g in grads}
    _schedule(roots, grads, run, needed, create_graph)


def _schedule(roots, grads, run, needed, create_graph):
    """The scheduler and the node runner: run every node that `roots` lead to (and `needed` admits),
    each once, newest first, starting from the roots' gradients `grads`."""
    add = _add_arrays if run.arrays else _add_tensors
    retain_graph = run.retain_graph
    # NOTE: anomaly mode checks every node, and grad() reads gradients: both take the Tensor path
    fast = run.arrays and not shared.anomaly and run.captured is None
    pending, heap = {}, []  # node -> its summed gradient (a list for a node of several outputs); the waiting
    node, edges, out = _Source, roots, grads  # NOTE: the roots' gradients come from a node before all others
    prev, state.grad_enabled = state.grad_enabled, create_graph
    try:
        while True:
            # The scheduler: each gradient is summed into its node's buffer; a node's first joins the heap.
            for (nxt, nr), g in zip(edges, out):
                if nxt is None or (needed is not None and nxt not in needed):
                    continue
                buf = pending.get(nxt)
                if buf is None:  # nxt's first gradient: it joins the heap
                    if nxt._seq >= node._seq:
                        _out_of_order(node, nxt)
                    heappush(heap, (-nxt._seq, nxt))
                    if nxt._num_outputs == 1:
                        pending[nxt] = _NO_GRAD if g is None else g
                        continue
                    buf = pending[nxt] = _NO_GRAD
                if g is None:
                    continue
                if nxt._num_outputs == 1:
                    pending[nxt] = g if buf is _NO_GRAD else add(buf, g)
                else:
                    pending[nxt] = _add_slot(buf, nxt._num_outputs, nr, g, add)
            # The node runner: the newest waiting node, on its summed gradient; a leaf gives nothing on.
            while heap:
                node = heappop(heap)[1]
                g = pending.pop(node)
                if fast and node._plain and node._formula is not None and g is not _NO_GRAD:
                    # fast path, most nodes: the op's derivative formula straight on the arrays, with no
                    # Tensor made, checked or dispatched (formula(node, F, g), bound); without it
                    # bench_overhead's tiny_chain takes 33% more instructions, rosenbrock_step 52%,
                    # net_small_step 28% (scripts/callgrind_steps.py)
                    out = node._formula(_ARRAYS[g.__class__], g)
                    if not retain_graph and node._saved is not None:
                        node._saved, node._freed = None, True  # NOTE: node._release(), without the call
                    if out.__class__ is not tuple:  # a node of one input
                        nxt, nr = node.next_functions[0]
                        if out is not None and nxt is not None and needed is None and nxt._num_outputs == 1:
                            # fast path, one gradient to a node of one output: the delivery step above
                            # without its tuple and loop; without it bench_overhead's tiny_chain takes
                            # 2.0% more instructions, rosenbrock_step 3.9%, net_small_step 1.3%
                            buf = pending.get(nxt)
                            if buf is None:
                                if nxt._seq >= node._seq:
                                    _out_of_order(node, nxt)
                                heappush(heap, (-nxt._seq, nxt))
                                pending[nxt] = out
                            else:
                                pending[nxt] = out if buf is _NO_GRAD else add(buf, out)
                            continue
                        out = (out,)
                elif node.__class__ is AccumulateGrad:
                    if g is not _NO_GRAD:
                        _run_leaf(node, g, run)
                    continue
                else:
                    out = _run_node(node, g, run)
                edges = node.next_functions
                break
            else:
                return
    finally:
        state.grad_enabled = prev


def _add_slot(buf, n, nr, g, add):
    """Sum g into slot nr of the buffer of a node of n outputs."""
    if buf is _NO_GRAD:
        buf = [None] * n
    buf[nr] = g if buf[nr] is None else add(buf[nr], g)
    return buf


def _out_of_order(src, nxt):
    """The heap schedule's premise broken: only a hand-edited `_seq` can do this."""
    raise RuntimeError(f"autograd engine: {src.name()} passes a gradient to {nxt.name()}, which is numbered after "
                       "it; the graph's sequence numbers must follow its edges")


def _filter(roots, points, run):
    """backward(inputs=) and grad(): the nodes that must run, those from which an input's gradient can be
    reached; `points` are where the inputs' gradients arrive (_engine_args.arrival_points)."""
    needed = reaching([n for n, _ in roots], {n for n, _ in points if n is not None})
    if run.captured is not None:
        run.captures = {}
        for i, point in enumerate(points):
            if point[0] is not None:
                run.captures.setdefault(point, []).append(i)
        run.capture_nodes = {n for n, _ in run.captures}
        # a node passed as an input runs only if another input lies beyond it; else it is only read
        run.skip = {n for n in run.capture_nodes if not any(nxt in needed for nxt, _ in n.next_functions)}
    return needed


def _add_arrays(a, b):
    """a + b for two gradients (backend arrays) of one tensor."""
    if a.shape == b.shape and (a.dtype is b.dtype or a.dtype == b.dtype):
        # fast path: the backend's add, not the Tensor op's; without it bench_overhead's rosenbrock_step
        # (x[0] read twice) takes 6.4% more instructions (scripts/callgrind_steps.py)
        return _ARRAYS[a.__class__].be.binary("add", a, b)
    return (_Tensor._make(a) + _Tensor._make(b))._data  # broadcast or promoted: the Tensor op's rules


def _add_tensors(a, b):
    return a + b


# --- the node runner ---------------------------------------------------------------------------------
def _run_node(node, g, run):
    """An op's node off the fast path: `apply` on Tensors, with its hooks; returns its gradients, one
    per next_functions edge."""
    if g is _NO_GRAD:  # only None reached it: it frees its saved tensors and passes None on
        if not run.retain_graph:
            node._release()
        return (None,) * len(node.next_functions)
    grads = [g] if node._num_outputs == 1 else list(g)
    if run.arrays:
        grads = [None if x is None else _Tensor._make(x) for x in grads]
    out = hooks.run_hooked(node, grads, run, _Tensor)
    if run.arrays:
        out = tuple([None if x is None else x._data for x in out])
    return out


def _run_leaf(node, g, run):
    """A leaf's AccumulateGrad: tensor hooks, then grad()'s capture, or pre-hooks, `.grad += g`,
    post-accumulate-grad hooks and post-hooks. g: a backend array when gradients travel as arrays,
    else a Tensor.

    The one place a leaf accumulates, as PyTorch's AccumulateGrad does, under a lock as there:
    threads running backward() into one leaf lose no update.
    """
    t = node.variable
    hooked = t._hooks or node._pre_hooks or node._post_hooks or t._post_acc_hooks or run.captured
    if hooked:
        g = gt = _tensor(g)
        if t._hooks:
            g = gt = hooks.run_tensor_hooks(t._hooks, g, _Tensor)
        if run.captured is not None:  # grad(): every leaf it runs is an input
            hooks.capture(node, (g,), run)
            return
        if node._pre_hooks:
            (gt,) = hooks.run_pre_hooks(node, (gt,), _Tensor)
        # NOTE: a hook saw (or will see) the gradient and may keep it or write to it: .grad gets a copy
        run.borrowed.add(id(gt._data))
        g = gt._data if run.arrays else gt
    _LEAF_LOCK.acquire()  # NOTE: not `with`: its __exit__ call costs twice acquire() and release()
    try:
        grad = t._grad
        if grad is None:
            t._grad = _first_grad(g, run)
        elif run.arrays and not grad._requires_grad and g.shape == grad._data.shape and (
                g.dtype is grad._data.dtype):
            # fast path: what add_ does, minus its checks and the Tensor made for g; without it bench_overhead's
            # tiny_chain takes 23% more instructions, rosenbrock_step 3.5%, net_small_step 4.5% (callgrind)
            grad._be.binary_("add", grad._data, g)
            grad._vc[0] += 1
        elif not run.arrays or grad._requires_grad:
            t._grad = grad + _tensor(g)  # NOTE: out of place: the sum joins the recorded graph
        else:
            grad.add_(_tensor(g))  # another dtype or shape: add_'s rules and errors
    finally:
        _LEAF_LOCK.release()
    if hooked:
        hooks.after_accumulate(node, t, gt, _Tensor)


def _first_grad(g, run):
    """A leaf's first gradient: taken, not copied, when nobody else can see its memory (PyTorch's rule)."""
    if not run.arrays:
        return g.clone()  # NOTE: create_graph: a copy that keeps g's history
    g = _tensor(g)
    if id(g._data) not in run.borrowed and g._be.owns_memory(g._data):
        run.borrowed.add(id(g._data))
        return g if g._grad_fn is None else g.detach()
    return g.detach().clone()


def _tensor(g):
    return g if isinstance(g, _Tensor) else _Tensor._make(g)
