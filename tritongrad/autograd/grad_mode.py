"""Grad mode: whether ops record a graph. Thread-local, as in PyTorch (anomaly mode is not: `shared`)."""
import functools
import threading


class _State(threading.local):
    grad_enabled = True
    saved_hooks = None  # a per-thread stack of (pack, unpack), see hooks.py


class _Shared:
    """Process-wide switches: PyTorch's anomaly mode holds for every thread, unlike grad mode."""

    def __init__(self):
        self.anomaly, self.anomaly_check_nan = False, True


state, shared = _State(), _Shared()


def is_grad_enabled():
    return state.grad_enabled


class _Mode:
    """A context manager that is also a decorator; the previous mode returns on any exit."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return ()

    def __enter__(self):
        self.prev = state.grad_enabled
        state.grad_enabled = self._mode
        return None

    def __exit__(self, *exc):
        state.grad_enabled = self.prev
        return False


class no_grad(_Mode):
    """Disable graph recording: results of ops have requires_grad=False and no grad_fn.

    Example:
        >>> with tg.no_grad():
        ...     w -= lr * w.grad
    """

    _mode = False


class enable_grad(_Mode):
    """Enable graph recording inside a no_grad region."""

    _mode = True


class set_grad_enabled(_Mode):
    """Set grad mode on or off: as a function call, a context manager or a decorator."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self.prev = state.grad_enabled
        state.grad_enabled = self._mode  # NOTE: takes effect immediately, like torch.set_grad_enabled(False)

    def _args(self):
        return (self._mode,)

    def __enter__(self):
        return None

    def __call__(self, fn):
        state.grad_enabled = self.prev  # used as a decorator: undo the immediate effect
        return super().__call__(fn)

