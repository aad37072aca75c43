"""Anomaly detection: remember where each node was created, and name the node whose backward fails."""
import traceback
import warnings

from .grad_mode import _Mode, state


def is_anomaly_enabled():
    return state.anomaly


def is_anomaly_check_nan_enabled():
    return state.anomaly_check_nan


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
        self.prev = (state.anomaly, state.anomaly_check_nan)
        state.anomaly, state.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc):
        state.anomaly, state.anomaly_check_nan = self.prev
        return False


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off: as a function call or a context manager."""

    def __init__(self, mode, check_nan=True):
        self.check_nan = check_nan
        self.prev = (state.anomaly, state.anomaly_check_nan)
        state.anomaly, state.anomaly_check_nan = bool(mode), check_nan

    def _args(self):
        return (state.anomaly, self.check_nan)

    def __enter__(self):
        return None


def record_traceback(node):
    node.metadata["traceback_"] = traceback.format_stack()[:-3]


def run_checked(node, grads):
    """Run a node; on error show its forward traceback; with check_nan, raise on NaN gradients."""
    try:
        out = node.apply(*grads)
    except Exception:
        tb = node.metadata.get("traceback_")
        if tb:
            warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                          + "".join(tb), stacklevel=2)
        raise
    if state.anomaly_check_nan:
        for i, g in enumerate(out if isinstance(out, tuple) else (out,)):
            if g is not None and g.dtype.is_floating_point and bool((g != g).any()):
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    return out
