"""Anomaly detection: remember where each node was created, and name the node whose backward fails.

With anomaly mode on, every node records the traceback of the forward call that created it; when a
node's backward raises (or, with check_nan, returns NaN), a UserWarning shows that traceback, as
PyTorch's does: "Error detected in DivBackward0. Traceback of forward call that caused the error: ...".
"""
import os
import traceback
import warnings

from .grad_mode import _Mode, shared

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the tritongrad package directory


def is_anomaly_enabled():
    """Whether anomaly detection is on (in every thread, as in PyTorch)."""
    return shared.anomaly


def is_anomaly_check_nan_enabled():
    """Whether anomaly detection also checks backward results for NaN."""
    return shared.anomaly_check_nan


class detect_anomaly(_Mode):
    """Context manager / decorator: record forward tracebacks, and on a failing backward show the
    traceback of the forward op whose node failed; with check_nan, a node returning NaN raises.

    Example:
        >>> with tg.autograd.detect_anomaly():
        ...     (x / 0 * 0).sum().backward()      # RuntimeError: Function 'DivBackward0' returned nan ...
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def _args(self):
        return (self.check_nan,)

    def __enter__(self):
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", stacklevel=2)
        self.prev = (shared.anomaly, shared.anomaly_check_nan)
        shared.anomaly, shared.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc):
        shared.anomaly, shared.anomaly_check_nan = self.prev
        return False


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off: as a function call or a context manager.

    Example:
        >>> tg.autograd.set_detect_anomaly(True)          # on until turned off
        >>> with tg.autograd.set_detect_anomaly(False):   # off inside, back as it was after
        ...     loss.backward()
    """

    def __init__(self, mode, check_nan=True):
        self.mode, self.check_nan = bool(mode), check_nan
        self.prev = (shared.anomaly, shared.anomaly_check_nan)
        shared.anomaly, shared.anomaly_check_nan = bool(mode), check_nan

    def _args(self):
        return (self.mode, self.check_nan)

    def __enter__(self):
        return None

    def __call__(self, fn):
        shared.anomaly, shared.anomaly_check_nan = self.prev  # used as a decorator: undo the immediate effect
        return super().__call__(fn)


def record_traceback(node):
    """Keep the user's part of the current stack (frames inside tritongrad dropped) in node.metadata."""
    frames = traceback.extract_stack()
    while frames and os.path.abspath(frames[-1].filename).startswith(_PKG + os.sep):
        frames.pop()
    node.metadata["traceback_"] = traceback.format_list(frames)


def run_checked(node, grads):
    """Run a node; on error show its forward traceback; with check_nan, raise on NaN gradients."""
    try:
        out = node.apply(*grads)
        if shared.anomaly_check_nan:
            for i, g in enumerate(out if isinstance(out, tuple) else (out,)):
                if g is not None and g.dtype.is_floating_point and bool((g != g).any()):
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    except Exception:
        tb = node.metadata.get("traceback_")
        if tb:
            warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                          + "".join(tb), stacklevel=2)
        raise
    return out
