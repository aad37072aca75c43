"""CUDA graphs (torch.cuda.CUDAGraph, torch.cuda.graph): capture kernels once, replay them at the
cost of one launch.

    g = tritongrad.cuda.CUDAGraph()
    step()                       # warm up first: every kernel compiled and loaded before capture
    with tritongrad.cuda.graph(g):
        loss = step()            # captured, not run; `loss` lives in the graph's memory
    g.replay()                   # runs the step again, on the same memory: loss is updated

As in PyTorch: a replay reads and writes the very memory the capture saw, so keep the inputs
created before the capture alive and refill them in place; no host<->device copy or
synchronization may happen while capturing. Memory allocated during the capture comes from the
graph's pool (memory._GraphPool) and stays valid for as long as the graph or its tensors live.
Graphs need a real GPU: emulated CUDA raises. tg.compile(step, mode="reduce-overhead") and
tg.cuda.make_graphed_callables (tritongrad/_compile.py) do the warm-up, capture, static inputs and
replay for you.
"""
import gc

from . import _runtime as rt, memory
from .streams import Stream, StreamContext, current_stream

_NEEDS_GPU = "CUDA graphs need a real GPU; emulated CUDA cannot capture"
_MODES = ("global", "thread_local", "relaxed")


class CUDAGraph:
    """One captured CUDA graph: capture_begin() ... capture_end(), then replay() (torch.cuda.CUDAGraph)."""

    def __init__(self):
        self._graph = None  # CUgraph
        self._exec = None  # CUgraphExec: what replay() launches
        self._pool = None  # the memory._GraphPool of the storages allocated while capturing
        self._gc_was_enabled = False

    def capture_begin(self, pool=None, capture_error_mode="thread_local"):
        """Start capturing the current stream's work. `with graph(g):` calls this for you.

        Args:
            pool: another graph's pool() to share its memory (only if they replay in capture order).
            capture_error_mode: "thread_local" (default; PyTorch's is "global"), "global" or
                "relaxed": which CUDA calls of other threads may invalidate the capture.
        """
        rt.lazy_init()
        if rt.EMULATED:
            raise RuntimeError(_NEEDS_GPU)
        if self._pool is not None:
            raise RuntimeError("this CUDAGraph already holds a capture; call reset() before capturing again")
        if memory._capture is not None:
            raise RuntimeError("another CUDA graph is being captured; tritongrad captures one at a time")
        if capture_error_mode not in _MODES:
            raise ValueError(f"capture_error_mode must be one of {_MODES}, got {capture_error_mode!r}")
        mode = getattr(rt.cu.CUstreamCaptureMode, f"CU_STREAM_CAPTURE_MODE_{capture_error_mode.upper()}")
        stream = current_stream()
        pool = memory._GraphPool() if pool is None else pool
        pool.stream = stream
        # NOTE: a garbage collection while capturing could unload a Triton module (cuModuleUnload
        # is not allowed then); our own frees are deferred by memory._free_when_safe.
        self._gc_was_enabled = gc.isenabled()
        gc.disable()
        memory._capture = self._pool = pool
        try:
            rt.check(rt.cu.cuStreamBeginCapture(stream.handle, mode))
        except BaseException:
            self._end()
            self._pool = None
            raise

    def capture_end(self):
        """End the capture and make the graph replayable."""
        if self._pool is None or memory._capture is not self._pool:
            raise RuntimeError("capture_end() without a capture_begin() on this CUDAGraph")
        result = rt.cu.cuStreamEndCapture(self._pool.stream.handle)
        self._end()
        try:
            self._graph = rt.check(result)
            self._exec = rt.check(rt.cu.cuGraphInstantiate(self._graph, 0))
        except BaseException:
            self.reset()  # e.g. the capture was invalidated: this CUDAGraph can capture again
            raise

    def _end(self):
        memory.end_capture()
        if self._gc_was_enabled:
            gc.enable()

    def replay(self):
        """Run the captured work again, on the current stream."""
        if self._exec is None:
            raise RuntimeError("Called CUDAGraph.replay() without a preceding successful capture.")
        rt.check(rt.cu.cuGraphLaunch(self._exec, current_stream().handle))

    def reset(self):
        """Drop the captured graph; its memory goes once the tensors allocated while capturing die."""
        if memory._capture is not None and memory._capture is self._pool:
            raise RuntimeError("cannot reset a CUDAGraph while it is being captured")
        if self._exec is not None:  # NOTE: a replay in flight still completes
            rt.check(rt.cu.cuGraphExecDestroy(self._exec))
        if self._graph is not None:
            rt.check(rt.cu.cuGraphDestroy(self._graph))
        self._graph = self._exec = self._pool = None

    def pool(self):
        """An opaque handle to this graph's memory, for capture_begin(pool=...) of another graph."""
        return self._pool

    def __del__(self):
        try:
            if self._exec is not None or self._graph is not None:
                self.reset()
        except Exception:  # interpreter shutdown
            pass


class graph:
    """`with graph(g):` captures the block into CUDAGraph `g` (torch.cuda.graph).

    Synchronizes the device first, then captures on `stream` (default: a side stream shared by all
    captures, as in PyTorch), which the block's work goes to.
    """

    default_capture_stream = None

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="thread_local"):
        self.cuda_graph = cuda_graph
        self.pool = pool
        self.capture_stream = stream
        self.capture_error_mode = capture_error_mode
        self._ctx = None

    def __enter__(self):
        rt.lazy_init()
        if rt.EMULATED:
            raise RuntimeError(_NEEDS_GPU)
        if self.capture_stream is None:
            if graph.default_capture_stream is None:
                graph.default_capture_stream = Stream()
            self.capture_stream = graph.default_capture_stream
        rt.synchronize()  # NOTE: the capture stream does not wait for work queued elsewhere before
        gc.collect()  # free garbage now rather than while capturing
        self._ctx = StreamContext(self.capture_stream)
        self._ctx.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool, self.capture_error_mode)
        except BaseException:
            self._ctx.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            self.cuda_graph.capture_end()
        except Exception:
            if exc_type is None:
                raise
            # the block's own error is the one to see; its capture is unusable anyway
        finally:
            self._ctx.__exit__(exc_type, exc, tb)
        if exc_type is not None:
            self.cuda_graph.reset()


def is_current_stream_capturing():
    """True while the current stream is being captured into a CUDA graph."""
    return memory._capture is not None and current_stream() is memory._capture.stream
