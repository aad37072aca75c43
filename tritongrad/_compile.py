"""`tg.compile(fn, mode="reduce-overhead")` and `tg.cuda.make_graphed_callables`: whole steps as
CUDA graphs, with PyTorch's names and semantics.

There is no compiler here: what removes the per-op host cost is CUDA graph capture (cuda/graphs.py).

- compile(fn, mode="reduce-overhead") (or "max-autotune", which PyTorch also graphs): per call
  signature (the shapes, dtypes, devices and requires_grad of the tensor arguments, and the values
  of the others), the first call runs `fn` eagerly (warm-up: kernels compile, `.grad`s and
  optimizer state are created), the second captures `fn` into a CUDA graph and replays it, later
  calls copy their tensor arguments into the graph's static input buffers and replay. So a whole
  training step (forward, `loss.backward()`, the optimizer's step) runs as one graph launch.
  Tensor arguments that require grad (parameters passed in) are used in place, not copied: keep
  them where they are, as PyTorch's reduce-overhead does. A new signature captures again, up to
  MAX_SIGNATURES per function; beyond, calls run eagerly (one warning). A call that cannot be
  captured (it reads a value on the host: `.item()`, printing a tensor) runs eagerly from then
  on for that signature, with one warning. Returned tensors are copies (detached: call backward()
  inside `fn`; to differentiate through graphed code outside it, use make_graphed_callables), made
  after the replay, so that keeping them across calls is safe. As in PyTorch, Python side effects of `fn`
  happen at capture only (counters, Python-side schedules), and random numbers drawn inside `fn`
  repeat at every replay (tritongrad's generator is not graph-aware).
  Without a GPU (CPU, emulated CUDA), and in every other mode, compile returns `fn` itself.
- make_graphed_callables(callables, sample_args): PyTorch's function of that name. Each callable
  (a function or a Module) is warmed up, its forward and its backward (with respect to the sample
  arguments that require grad and the module's parameters) captured as two graphs, and returned
  as a callable whose forward replays the first and whose backward (an autograd.Function) replays
  the second. Outputs are the static buffers (detached): the next call overwrites them.
  Without a GPU (CPU sample arguments, emulated CUDA) the callables are returned unchanged.
"""
import functools
import warnings

from . import cuda
from .autograd import Function, grad as autograd_grad, no_grad
from .tensor import Tensor

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_GRAPH_MODES = ("reduce-overhead", "max-autotune")
MAX_SIGNATURES = 8  # captures per compiled function (PyTorch's default recompile limit is 8 as well)


def _can_capture():
    return cuda.is_available() and not cuda.is_emulated()


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """torch.compile: `fn` captured into CUDA graphs in mode "reduce-overhead" (module docstring).

    Usable as `tg.compile(fn, mode=...)`, `@tg.compile` and `@tg.compile(mode=...)`.
    """
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if not callable(model):
        raise RuntimeError("compile() expected a callable (a function or a Module)")
    if disable or mode not in _GRAPH_MODES or not _can_capture():
        return model
    return CUDAGraphed(model)


# --- call signatures and the tensors in arguments ----------------------------------------------------------
def _key(obj, tensors):
    """A hashable description of `obj` (nested tuples, lists, dicts); appends its tensors to `tensors`."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return Tensor, tuple(obj.shape), obj.dtype, obj.is_cuda, obj.requires_grad
    if isinstance(obj, (tuple, list)):
        return type(obj), tuple(_key(o, tensors) for o in obj)
    if isinstance(obj, dict):
        return dict, tuple((k, _key(v, tensors)) for k, v in obj.items())
    try:
        hash(obj)
        return type(obj), obj
    except TypeError:
        return type(obj), id(obj)


def _replace(obj, new):
    """`obj` with its tensors replaced, in order, by the items of iterator `new`."""
    if isinstance(obj, Tensor):
        return next(new)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_replace(o, new) for o in obj)
    if isinstance(obj, dict):
        return {k: _replace(v, new) for k, v in obj.items()}
    return obj


class _Capture:
    """One signature of a compiled function: eager warm-up, then a graph and its static buffers."""

    __slots__ = ("warmups", "eager", "graph", "inputs", "output", "out_tensors")

    def __init__(self, warmups):
        self.warmups, self.eager, self.graph = warmups, False, None

    def capture(self, fn, args, kwargs, tensors):
        # NOTE: static buffers for the inputs that do not require grad (batches), made before capture
        self.inputs = [None if t.requires_grad or not t.is_cuda else t.detach().clone() for t in tensors]
        it = iter([t if s is None else s for t, s in zip(tensors, self.inputs)])
        s_args, s_kwargs = _replace((args, kwargs), it)
        graph = cuda.CUDAGraph()
        try:
            with cuda.graph(graph):
                out = fn(*s_args, **s_kwargs)
        except Exception as e:  # noqa: BLE001  (whatever stopped the capture: the call runs eagerly)
            self.eager = True
            warnings.warn(f"tg.compile: {getattr(fn, '__name__', fn)!s} could not be captured into a CUDA graph "
                          f"({type(e).__name__}: {e}); it runs eagerly for these inputs from now on", stacklevel=3)
            return False
        self.graph, self.output = graph, out
        self.out_tensors = []
        _key(out, self.out_tensors)
        return True

    def replay(self, tensors):
        with no_grad():
            for t, s in zip(tensors, self.inputs):
                if s is not None and t is not s:
                    s.copy_(t)
            self.graph.replay()
            return _replace(self.output, iter([t.detach().clone() for t in self.out_tensors]))


class CUDAGraphed:
    """What compile(fn, mode="reduce-overhead") returns on a GPU: `fn`, replayed from CUDA graphs."""

    def __init__(self, fn, warmups=1, max_signatures=MAX_SIGNATURES):
        self._fn, self._warmups, self._max = fn, warmups, max_signatures
        self._captures = {}
        self._warned_limit = False
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):  # NOTE: a compiled Module keeps its attributes (parameters, train(), ...)
        if name == "_fn":
            raise AttributeError(name)
        return getattr(self._fn, name)

    def __call__(self, *args, **kwargs):
        tensors = []
        key = _key((args, kwargs), tensors)
        if not any(t.is_cuda for t in tensors):
            return self._fn(*args, **kwargs)
        cap = self._captures.get(key)
        if cap is None:
            if len(self._captures) >= self._max:
                if not self._warned_limit:
                    self._warned_limit = True
                    warnings.warn(f"tg.compile: {self._max} signatures of {getattr(self._fn, '__name__', '')} "
                                  "captured already (MAX_SIGNATURES); new ones run eagerly", stacklevel=2)
                return self._fn(*args, **kwargs)
            cap = self._captures[key] = _Capture(self._warmups)
        if cap.eager or cap.warmups > 0:
            cap.warmups -= 1
            return self._fn(*args, **kwargs)
        if cap.graph is None and not cap.capture(self._fn, args, kwargs, tensors):
            return self._fn(*args, **kwargs)
        return cap.replay(tensors)


# --- make_graphed_callables ----------------------------------------------------------------------------
def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """torch.cuda.make_graphed_callables: forward and backward of each callable as CUDA graphs.

    Args:
        callables: a function or Module, or a tuple of them.
        sample_args: a tuple of tensors per callable (a tuple of such tuples for several callables):
            their shapes, dtypes and requires_grad are the ones every later call must have. They
            become the graphs' static inputs.
        num_warmup_iters: eager forward + backward runs before capturing (kernels compile).
        allow_unused_input: allow inputs the outputs do not depend on (their gradient is None).
        pool: a graph pool (CUDAGraph.pool()) for the first capture to share.
    """
    single = not isinstance(callables, tuple)
    if single:
        callables, sample_args = (callables,), (sample_args,)
    flat = [t for args in sample_args for t in args]
    if not _can_capture() or not all(isinstance(t, Tensor) and t.is_cuda for t in flat):
        return callables[0] if single else callables
    out = []
    for fn, args in zip(callables, sample_args):
        graphed = _graph_one(fn, tuple(args), num_warmup_iters, allow_unused_input, pool)
        if hasattr(fn, "parameters") and hasattr(fn, "forward"):
            fn.forward = graphed  # NOTE: as PyTorch: a Module comes back with its forward graphed
            graphed = fn
        out.append(graphed)
        pool = None
    return out[0] if single else tuple(out)


def _graph_one(fn, args, warmups, allow_unused, pool):
    params = tuple(p for p in fn.parameters() if p.requires_grad) if hasattr(fn, "parameters") else ()
    diff_inputs = tuple(a for a in args if a.requires_grad) + params

    def fwd_bwd(grad_outputs=None):
        outs = fn(*args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        diff = [o for o in outs if o.requires_grad]
        gos = grad_outputs if grad_outputs is not None else [o.detach().clone() for o in diff]
        grads = autograd_grad(diff, diff_inputs, gos, allow_unused=allow_unused) if diff and diff_inputs else ()
        return outs, grads

    for _ in range(warmups):
        fwd_bwd()
    fwd_graph, bwd_graph = cuda.CUDAGraph(), cuda.CUDAGraph()
    with cuda.graph(fwd_graph, pool=pool):
        outs = fn(*args)
    single_out = not isinstance(outs, tuple)
    outs = (outs,) if single_out else outs
    diff_outs = [o for o in outs if o.requires_grad]
    grad_bufs = [o.detach().clone() for o in diff_outs]  # NOTE: made outside capture: backward's static input
    with cuda.graph(bwd_graph, pool=fwd_graph.pool()):
        grads = autograd_grad(diff_outs, diff_inputs, grad_bufs, allow_unused=allow_unused) if diff_outs else ()
    n_args = len(args)
    where = {id(a): i for i, a in enumerate(diff_inputs)}

    class Graphed(Function):
        @staticmethod
        def forward(ctx, *inputs):
            for s, x in zip(args, inputs[:n_args]):
                if x is not s:
                    s.copy_(x)
            fwd_graph.replay()
            return tuple(o.detach() for o in outs)

        @staticmethod
        def backward(ctx, *gs):
            k = 0
            for o, g in zip(outs, gs):
                if o.requires_grad:
                    if g is None:
                        grad_bufs[k].zero_()
                    else:
                        grad_bufs[k].copy_(g)
                    k += 1
            bwd_graph.replay()
            got = [None if g is None else g.detach() for g in grads]
            return tuple(got[where[id(a)]] if id(a) in where else None for a in args + params)

    def graphed(*user_args):
        if len(user_args) != n_args:
            raise TypeError(f"expected {n_args} arguments (as the sample arguments), got {len(user_args)}")
        result = Graphed.apply(*user_args, *params)
        return result[0] if single_out else result

    graphed.fwd_graph, graphed.bwd_graph = fwd_graph, bwd_graph
    return graphed
