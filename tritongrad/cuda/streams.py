"""Streams and events with torch.cuda's names; tritongrad's own stream by default.

Every tritongrad kernel, copy and allocation goes to `current_stream()`: the project-owned
non-blocking stream, unless a `with tritongrad.cuda.stream(s):` block of this thread says
otherwise (per thread, as in PyTorch). NOTE: not the legacy NULL stream 0 that Triton uses by
itself: that one cannot be captured into a CUDA graph.

Emulated: work runs on the host, synchronously, when it is issued; so a stream is only a name and
an event a host timestamp (time.perf_counter), and the same programs run unchanged.
"""
import itertools
import time

from . import _runtime as rt

_emulated_handles = itertools.count(1)


def current_stream(device=None):
    """The stream this thread's work goes to (torch.cuda.current_stream); `.handle` is the CUstream."""
    if device is not None:
        rt.check_device(device)
    try:
        s = rt.tls.stream
    except AttributeError:
        rt.ensure_thread()
        s = None
    return rt.default_stream if s is None else s


def default_stream(device=None):
    """tritongrad's own stream, where work goes outside `stream()` blocks."""
    rt.check_device(device)
    rt.lazy_init()
    return rt.default_stream


class Stream:
    """A CUDA stream (torch.cuda.Stream): work on one stream runs in order; streams run concurrently.

    Args:
        priority: lower is more urgent (CUDA clamps it to the device's range).
    """

    __slots__ = ("handle", "__weakref__")

    def __init__(self, device=None, priority=0):
        rt.check_device(device)
        rt.ensure_thread()
        self._create(priority)

    def _create(self, priority):
        if rt.EMULATED:
            self.handle = next(_emulated_handles)
        else:
            flags = rt.cu.CUstream_flags.CU_STREAM_NON_BLOCKING  # NOTE: no implicit sync with stream 0
            self.handle = int(rt.check(rt.cu.cuStreamCreateWithPriority(flags, priority)))

    @property
    def cuda_stream(self):
        return self.handle

    @property
    def device(self):
        return "cuda:0"

    def synchronize(self):
        """Wait until all work queued on this stream is done."""
        if not rt.EMULATED:
            rt.check(rt.cu.cuStreamSynchronize(self.handle))

    def query(self):
        """True if all work queued on this stream is done."""
        if rt.EMULATED:
            return True
        err = rt.cu.cuStreamQuery(self.handle)[0]
        if err == rt.cu.CUresult.CUDA_ERROR_NOT_READY:
            return False
        rt.check((err,))
        return True

    def wait_event(self, event):
        """Make later work on this stream wait for `event`."""
        event.wait(self)

    def wait_stream(self, stream):
        """Make later work on this stream wait for the work queued on `stream` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and other.handle == self.handle

    def __hash__(self):
        return hash(self.handle)

    def __repr__(self):
        return f"<tritongrad.cuda.Stream device=cuda:0 cuda_stream={self.handle:#x}>"

    def __del__(self):
        try:  # NOTE: pending work still completes; storages keep the stream they free on alive
            if not rt.EMULATED and rt.cu is not None:
                rt.cu.cuStreamDestroy(self.handle)
        except Exception:  # interpreter shutdown
            pass


class StreamContext:
    """`with StreamContext(s):` this thread's work goes to `s`; None changes nothing."""

    __slots__ = ("stream", "_prev")

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            current_stream()  # initializes this thread
            self._prev, rt.tls.stream = rt.tls.stream, self.stream
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            rt.tls.stream = self._prev


def stream(stream):
    """Context manager running this thread's work on `stream` (torch.cuda.stream).

    Example:
        with tritongrad.cuda.stream(side):
            y = x * 2        # launched on `side`
    """
    return StreamContext(stream)


class Event:
    """A marker in a stream, to wait for or to time (torch.cuda.Event). Created on first record().

    Example:
        start, end = Event(enable_timing=True), Event(enable_timing=True)
        start.record(); work(); end.record(); end.synchronize(); ms = start.elapsed_time(end)
    """

    __slots__ = ("enable_timing", "blocking", "_event")

    def __init__(self, enable_timing=False, blocking=False):
        self.enable_timing = enable_timing
        self.blocking = blocking
        self._event = None  # CUevent (real GPU), or perf_counter() seconds at record (emulated)

    def record(self, stream=None):
        """Record this event on `stream` (default: the current stream)."""
        stream = current_stream() if stream is None else stream
        if rt.EMULATED:
            self._event = time.perf_counter()
            return
        cu = rt.cu
        if self._event is None:
            flags = 0 if self.enable_timing else cu.CUevent_flags.CU_EVENT_DISABLE_TIMING
            if self.blocking:  # NOTE: the host sleeps in synchronize() instead of spinning
                flags |= cu.CUevent_flags.CU_EVENT_BLOCKING_SYNC
            self._event = rt.check(cu.cuEventCreate(int(flags)))
        rt.check(cu.cuEventRecord(self._event, stream.handle))

    def wait(self, stream=None):
        """Make later work on `stream` (default: current) wait for this event; no-op if unrecorded."""
        stream = current_stream() if stream is None else stream
        if not rt.EMULATED and self._event is not None:
            rt.check(rt.cu.cuStreamWaitEvent(stream.handle, self._event, 0))

    def query(self):
        """True if the work before the event is done (or it was never recorded)."""
        if rt.EMULATED or self._event is None:
            return True
        err = rt.cu.cuEventQuery(self._event)[0]
        if err == rt.cu.CUresult.CUDA_ERROR_NOT_READY:
            return False
        rt.check((err,))
        return True

    def synchronize(self):
        """Wait until the work before the event is done."""
        if not rt.EMULATED and self._event is not None:
            rt.check(rt.cu.cuEventSynchronize(self._event))

    def elapsed_time(self, end_event):
        """Milliseconds between this event and `end_event`, both recorded and complete."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self._event is None or end_event._event is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        if rt.EMULATED:
            return (end_event._event - self._event) * 1000.0
        return rt.check(rt.cu.cuEventElapsedTime(self._event, end_event._event))

    def __repr__(self):
        return f"<tritongrad.cuda.Event {'recorded' if self._event is not None else 'uninitialized'}>"

    def __del__(self):
        try:
            if not rt.EMULATED and self._event is not None:
                rt.cu.cuEventDestroy(self._event)
        except Exception:  # interpreter shutdown
            pass
