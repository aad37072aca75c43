"""remainder, fmod, floor_divide, div(rounding_mode=) and the % and // operators (ops/divmod.py), on both
devices against PyTorch: values bit for bit (signs of zeros too), dtypes, grad_fn names, gradients,
in-place forms, and the errors (integer division by zero on the CPU, bool operands, a bad rounding_mode).
"""
import numpy as np
import pytest

import tritongrad as tg

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "uint8"]


def _pair(rng, dtype, shape_a=(4, 7), shape_b=(7,)):
    a = rng.standard_normal(shape_a) * 10
    b = rng.standard_normal(shape_b) * 3
    if dtype[0] in "iu":
        a, b = np.round(np.abs(a) if dtype == "uint8" else a), np.round(np.abs(b) if dtype == "uint8" else b)
        b[b == 0] = 3
    else:
        a.flat[:4] = [0.0, -0.0, 6.0, -6.0]  # NOTE: zeros and exact multiples: the signs of zero results
        b.flat[:2] = [2.0, -2.0]
    return a, b


PROGRAMS = {
    "remainder": lambda M, a, b: M.remainder(a, b),
    "fmod": lambda M, a, b: M.fmod(a, b),
    "mod": lambda M, a, b: a % b,
    "mod_scalar": lambda M, a, b: a % 2.5,
    "mod_int_scalar": lambda M, a, b: a % -3,
    "rmod": lambda M, a, b: 7 % b,
    "rmod_float": lambda M, a, b: -7.5 % b,
    "floordiv": lambda M, a, b: a // b,
    "floordiv_scalar": lambda M, a, b: a // -2,
    "rfloordiv": lambda M, a, b: 9 // b,
    "floor_divide": lambda M, a, b: M.floor_divide(a, b),
    "div_floor": lambda M, a, b: M.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda M, a, b: a.div(b, rounding_mode="trunc"),
    "div_trunc_scalar": lambda M, a, b: a.div(-2.5, rounding_mode="trunc"),
    "fmod_scalar": lambda M, a, b: a.fmod(-4),
}


def _same(got, want):
    g, w = got.detach().cpu().numpy(), want.detach().numpy()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert g.shape == w.shape
    np.testing.assert_array_equal(g, w)
    if g.dtype.kind == "f":  # NOTE: the signs of zeros and infinities (a NaN's sign bit means nothing)
        keep = ~np.isnan(w)
        np.testing.assert_array_equal(np.signbit(g)[keep], np.signbit(w)[keep])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_values_match_pytorch(device, torch, rng, name, dtype):
    a, b = _pair(rng, dtype)
    ta, tb = (torch.tensor(v).to(getattr(torch, dtype)) for v in (a, b))
    ga, gb = (tg.tensor(v, device=device).to(getattr(tg, dtype)) for v in (a, b))
    try:
        want = PROGRAMS[name](torch, ta, tb)
    except RuntimeError as e:  # NOTE: uint8 by a negative number: PyTorch refuses some, then so must we
        with pytest.raises(RuntimeError, match=str(e)[:40]):
            PROGRAMS[name](tg, ga, gb)
        return
    _same(PROGRAMS[name](tg, ga, gb), want)


@pytest.mark.parametrize("name", ["remainder", "fmod", "floordiv", "div_floor", "div_trunc"])
def test_special_floats_match_pytorch(device, torch, name):
    vals = [0.0, -0.0, 1.0, -1.0, 2.5, -7.0, float("inf"), float("-inf"), float("nan"), 1e-30, 3e38]
    a = np.array(vals, np.float32)[:, None] * np.ones((1, len(vals)), np.float32)
    b = a.T.copy()
    with np.errstate(all="ignore"):
        want = PROGRAMS[name](torch, torch.tensor(a), torch.tensor(b))
    _same(PROGRAMS[name](tg, tg.tensor(a, device=device), tg.tensor(b, device=device)), want)


def test_grad_fn_names_and_gradients(device, torch, rng):
    a, b = rng.standard_normal((3, 4)) * 3, np.abs(rng.standard_normal((4,))) + 0.5
    for name, node in [("remainder", "RemainderBackward1"), ("fmod", "FmodBackward1"), ("div_floor", "DivBackward2"),
                       ("div_trunc", "DivBackward2"), ("mod_scalar", "RemainderBackward0"),
                       ("fmod_scalar", "FmodBackward0")]:
        ga, gb = (tg.tensor(v, device=device, requires_grad=True) for v in (a, b))
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
        out, want = PROGRAMS[name](tg, ga, gb), PROGRAMS[name](torch, ta, tb)
        assert type(out.grad_fn).__name__ == type(want.grad_fn).__name__ == node
        w = rng.standard_normal(out.shape)
        out.backward(tg.tensor(w, device=device))
        want.backward(torch.tensor(w))
        for g, t in ((ga, ta), (gb, tb)):
            if t.grad is None:
                assert g.grad is None
            else:
                np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("program,aten", [(lambda a: a // 2, "floor_divide"), (lambda a: tg.floor_divide(a, a + 3),
                                                                                "floor_divide"),
                                          (lambda a: 5 % a, "remainder")])
def test_no_derivative_as_pytorch(device, program, aten):
    a = tg.tensor([1.5, -2.5, 4.0], device=device, requires_grad=True)
    out = program(a)
    assert out.requires_grad and type(out.grad_fn).__name__ == "NotImplemented"
    with pytest.raises(RuntimeError, match=f"derivative for aten::{aten} is not implemented"):
        out.sum().backward()


def test_inplace_forms(device, torch, rng):
    a, b = _pair(rng, "int64")
    ga, gb = tg.tensor(a, device=device).long(), tg.tensor(b, device=device).long()
    ta, tb = torch.tensor(a).long(), torch.tensor(b).long()
    for x, y in ((ga, gb), (ta, tb)):
        x %= y
        x += 11
        x //= 2
        x.fmod_(y)
        x.remainder_(3)
        x.floor_divide_(y)
        x.div_(y, rounding_mode="trunc")
    _same(ga, ta)
    f = tg.tensor([2.5, -3.5], device=device, requires_grad=True)
    g = f * 1
    g.remainder_(0.75)
    assert type(g.grad_fn).__name__ == "RemainderBackward0"
    g.sum().backward()
    np.testing.assert_array_equal(f.grad.cpu().numpy(), [1.0, 1.0])


def test_errors_before_writing(device):
    x = tg.tensor([3, -4, 5], device=device)
    if device == "cpu":  # NOTE: a CUDA kernel cannot raise; PyTorch's CUDA kernels do not either
        for fn in (lambda: x % 0, lambda: x.fmod(tg.tensor([1, 0, 1])), lambda: x // 0, lambda: 7 // tg.tensor([0]),
                   lambda: x.div(0, rounding_mode="trunc"), lambda: x.remainder_(tg.tensor([2, 0, 2]))):
            with pytest.raises(RuntimeError, match="ZeroDivisionError"):
                fn()
        assert x.tolist() == [3, -4, 5] and x._version == 0
    with pytest.raises(NotImplementedError, match=f'"remainder_{device}" not implemented for \'Bool\''):
        tg.tensor([True], device=device) % True
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                                           "found 'round'"):
        x.div(2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="div expected rounding_mode"):
        x.div_(2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x.remainder_(2.5)
    assert x.tolist() == [3, -4, 5] and x._version == 0


@pytest.mark.parametrize("dtype,scalar", [("uint8", -3), ("uint8", 300), ("int8", 300), ("int8", -200),
                                          ("int16", 70000)])
def test_out_of_range_integer_scalars_wrap_as_pytorch(device, torch, dtype, scalar):
    """PyTorch casts an integer operand into the tensor's dtype (uint8 - 3 adds 253); NumPy 2 refused it."""
    vals = [5, 100, 7] if dtype == "uint8" else [5, -7, 100]
    for program in (lambda x: x + scalar, lambda x: x * scalar, lambda x: x - scalar, lambda x: x % scalar,
                    lambda x: x // scalar, lambda x: scalar % x.clamp(min=1)):
        x, t = tg.tensor(vals, dtype=getattr(tg, dtype), device=device), torch.tensor(vals, dtype=getattr(torch, dtype))
        try:
            want = program(t)
        except RuntimeError:  # NOTE: // by a scalar that wraps to 0: ZeroDivisionError in both (CPU)
            continue
        _same(program(x), want)
    x, t = tg.tensor(vals, dtype=getattr(tg, dtype), device=device), torch.tensor(vals, dtype=getattr(torch, dtype))
    x += scalar
    t += scalar
    _same(x, t)
