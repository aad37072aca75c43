"""Anomaly mode: the forward traceback of the node whose backward failed, NaN checks, the modes' switches."""
import warnings

import numpy as np
import pytest

import tritongrad as tg
from tritongrad.autograd.anomaly import is_anomaly_check_nan_enabled


def _failing(lib, fn):
    """Run fn under lib's detect_anomaly; return (error message, the 'Error detected' warning or None)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError) as e:
            with lib.autograd.detect_anomaly():
                fn(lib)
    detected = [str(w.message) for w in caught if str(w.message).startswith("Error detected")]
    return str(e.value), (detected[0] if detected else None)


def _nan_program(lib):
    x = lib.tensor([1.0, 0.0, 2.0], requires_grad=True)
    y = x / 0 * 0  # the line the warning must show
    y.sum().backward()


def test_nan_names_the_node_and_shows_the_forward_line(torch):
    msg, warning = _failing(tg, _nan_program)
    assert msg == "Function 'DivBackward0' returned nan values in its 0th output."
    assert warning.startswith("Error detected in DivBackward0. Traceback of forward call that caused the error:\n")
    assert "y = x / 0 * 0  # the line the warning must show" in warning
    assert "tritongrad/" not in warning.replace("tritongrad/tests", "")  # our own frames are left out
    torch_msg, torch_warning = _failing(torch, _nan_program)
    assert msg == torch_msg
    assert torch_warning.startswith("Error detected in DivBackward0.")


def test_failing_custom_backward_shows_its_forward(device):
    class Boom(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = tg.randn(3, 1, 17, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="Error detected in BoomBackward") as rec:
        with pytest.raises(ValueError, match="boom"):
            with tg.autograd.detect_anomaly(check_nan=False):
                out = Boom.apply(x) * 1  # boom-line
                out.sum().backward()
    assert any("out = Boom.apply(x) * 1  # boom-line" in str(w.message) for w in rec)


def test_version_error_hint_changes_under_anomaly(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x.exp()
        y.mul_(2)
        y.sum().backward()

    plain = pytest.raises(RuntimeError, program, tg)
    assert str(plain.value).endswith("Hint: enable anomaly detection to find the operation that failed to compute "
                                     "its gradient, with tritongrad.autograd.set_detect_anomaly(True, "
                                     "check_nan=False).")
    torch_plain = pytest.raises(RuntimeError, program, torch)
    assert str(plain.value) == str(torch_plain.value).replace("torch.", "tritongrad.")
    msg, warning = _failing(tg, program)
    assert msg.endswith("Hint: the backtrace further above shows the operation that failed to compute its gradient. "
                        "The variable in question was changed in there or anywhere later. Good luck!")
    assert "which is output 0 of Exp," in msg
    assert warning.startswith("Error detected in ExpBackward0.") and "y = x.exp()" in warning
    torch_msg, _ = _failing(torch, program)
    assert torch_msg.replace("torch.", "tritongrad.") == msg


def test_check_nan_false_lets_nan_through(device):
    x = tg.tensor([1.0, 0.0, 2.0], device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tg.autograd.detect_anomaly(check_nan=False):
            (x / 0 * 0).sum().backward()
    assert np.isnan(x.grad.cpu().numpy()).all()


def test_nan_check_on_device(device):
    x = tg.tensor([1.0, 0.0, 2.0], device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="^Function 'MulBackward0' returned nan values in its 0th output.$"):
            with tg.autograd.detect_anomaly():
                (x * float("nan")).sum().backward()


def test_switches_and_state():
    assert not tg.autograd.is_anomaly_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with tg.autograd.detect_anomaly(check_nan=False):
            assert tg.autograd.is_anomaly_enabled() and not is_anomaly_check_nan_enabled()
    assert not tg.autograd.is_anomaly_enabled() and is_anomaly_check_nan_enabled()
    tg.autograd.set_detect_anomaly(True)
    try:
        assert tg.autograd.is_anomaly_enabled()
        with tg.autograd.set_detect_anomaly(False):
            assert not tg.autograd.is_anomaly_enabled()
        assert tg.autograd.is_anomaly_enabled()
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert not tg.autograd.is_anomaly_enabled()

    @tg.autograd.set_detect_anomaly(True)
    def inside():
        return tg.autograd.is_anomaly_enabled()

    assert not tg.autograd.is_anomaly_enabled()
    assert inside() and not tg.autograd.is_anomaly_enabled()


def test_anomaly_mode_holds_in_every_thread(torch):
    """Unlike grad mode, anomaly mode is one switch for the whole process, in PyTorch and here."""
    import threading

    def seen_from_another_thread(lib):
        lib.autograd.set_detect_anomaly(True)
        try:
            seen = []
            thread = threading.Thread(target=lambda: seen.append(lib.is_anomaly_enabled()))
            thread.start()
            thread.join()
            return seen
        finally:
            lib.autograd.set_detect_anomaly(False)

    assert seen_from_another_thread(tg) == seen_from_another_thread(torch) == [True]


def test_anomaly_mode_gives_the_same_gradients(rng):
    a = rng.standard_normal((33, 65))
    grads = []
    for on in (False, True):
        x = tg.tensor(a, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tg.autograd.set_detect_anomaly(on):
                (x.sigmoid() * x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
