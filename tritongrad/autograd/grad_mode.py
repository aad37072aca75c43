"""Grad mode: whether ops record a graph. Thread-local, as in PyTorch (anomaly mode is not: `shared`)."""
import functools
import threading


class _State(threading.local):
    grad_enabled = True
    inference = False  # inside inference_mode: tensors made are inference tensors, nothing records
    inference_grad = False  # inside inference_mode: the grad mode is_grad_enabled() reports (enable_grad there)
    saved_hooks = None  # a per-thread stack of (pack, unpack), see hooks.py


class _Shared:
    """Process-wide switches: PyTorch's anomaly mode holds for every thread, unlike grad mode."""

    def __init__(self):
        self.anomaly, self.anomaly_check_nan = False, True
        # NOTE: whether any thread has ever entered inference_mode: one attribute read gates the
        # inference-tensor checks of every op and saved tensor, which cost nothing until then
        self.inference_seen = False


state, shared = _State(), _Shared()


def is_grad_enabled():
    return state.inference_grad if state.inference else state.grad_enabled


def _set_grad(mode):
    """Set grad mode and return the previous one. Inside inference_mode only the reported mode changes,
    as in PyTorch, where enable_grad() there makes is_grad_enabled() True but records nothing."""
    if state.inference:
        prev, state.inference_grad = state.inference_grad, mode
    else:
        prev, state.grad_enabled = state.grad_enabled, mode
    return prev


class _Mode:
    """A context manager that is also a decorator, with or without parentheses (`@no_grad` and
    `@no_grad()`, as PyTorch accepts both); the previous mode returns on any exit."""

    def __new__(cls, *args, **kwargs):
        if cls._bare and len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])  # NOTE: @no_grad without parentheses: decorate at once
        return super().__new__(cls)

    _bare = True

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return ()

    def __enter__(self):
        self.prev = _set_grad(self._mode)
        return None

    def __exit__(self, *exc):
        _set_grad(self.prev)
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

    _bare = False

    def __init__(self, mode):
        self._mode = bool(mode)
        self.prev = _set_grad(self._mode)  # NOTE: takes effect immediately, like torch.set_grad_enabled(False)

    def _args(self):
        return (self._mode,)

    def __enter__(self):
        return None

    def __call__(self, fn):
        _set_grad(self.prev)  # used as a decorator: undo the immediate effect
        return super().__call__(fn)


def is_inference_mode_enabled():
    return state.inference


class inference_mode(_Mode):
    """Like no_grad, and the tensors made inside are inference tensors (`is_inference()`): they can
    never join a recorded graph later (PyTorch's errors), as a context manager or decorator (with or
    without parentheses). `inference_mode(False)` turns it off inside an enabled region.

    Example:
        >>> with tg.inference_mode():
        ...     y = model(x)
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)  # NOTE: @inference_mode without parentheses
        return object.__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _args(self):
        return (self.mode,)

    def __enter__(self):
        self.prev = state.grad_enabled, state.inference, state.inference_grad
        # NOTE: as c10::InferenceMode(enabled): grad mode is the opposite of the inference mode
        state.grad_enabled, state.inference, state.inference_grad = not self.mode, self.mode, False
        if self.mode:
            shared.inference_seen = True
        return None

    def __exit__(self, *exc):
        state.grad_enabled, state.inference, state.inference_grad = self.prev
        return False

    def clone(self):
        return self.__class__(self.mode)
