"""Constructors refuse what PyTorch refuses, with its exception types and messages: Python numbers out of
an integer dtype's range (never a silent wrap), sizes no memory can hold (never NumPy's MemoryError or
ValueError). Compared with PyTorch on both devices."""
import numpy as np
import pytest

import tritongrad as tg

DATA = ["[300]", "300", "[-256]", "[-255]", "[255.9]", "[-1.5]", "[1, 2.5, 300]", "[True, 300]", "[[1, 2], [3, 400]]",
        "[127, -128]", "[32768]", "[2**31]", "[2**31 - 1]", "[float('nan')]", "[float('inf')]", "[1e19]", "[9.3e18]",
        "[2**63]", "[2**64]", "[-2**63]", "[2**63 - 1]", "[2147483647.5]", "[300]", "[]", "np.int64(300)",
        "np.float64(-1.5)", "[np.int64(300)]", "np.array([300])", "np.array([300.5, -1])"]
DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float32", "float16", "bool"]


def outcome(fn, *args, **kwargs):
    try:
        return "ok", fn(*args, **kwargs).tolist()
    except Exception as e:  # noqa: BLE001  # the exception's type and text are what is compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_from_numbers_out_of_range(torch, device, dtype):
    for src in DATA:
        want = outcome(torch.tensor, eval(src), dtype=getattr(torch, dtype))
        got = outcome(tg.tensor, eval(src), dtype=getattr(tg, dtype), device=device)
        if want[0] == "ok" and want[1] and np.isnan(np.asarray(want[1], dtype=float)).any():
            assert got[0] == "ok" and np.isnan(np.asarray(got[1], dtype=float)).any(), (src, got)
        else:
            assert got == want, (src, dtype)


def test_tensor_infers_int64_and_refuses_larger_ints(torch, device):
    for src in ["[2**63]", "[2**64]", "[-2**63 - 1]", "[1, 2**63]", "[-2**63]"]:
        assert outcome(tg.tensor, eval(src), device=device) == outcome(torch.tensor, eval(src)), src


@pytest.mark.parametrize("dtype", DTYPES)
def test_full_out_of_range(torch, device, dtype):
    for value in [300, -1, -256, 255.5, -1.5, 200, 70000, 2**31, 2**63, -2**63, -2**63 - 1, 2**64 - 1, 2**70,
                  float("nan"), float("inf"), 65519.0, 1e39, 7]:
        want = outcome(torch.full, (2,), value, dtype=getattr(torch, dtype))
        got = outcome(tg.full, (2,), value, dtype=getattr(tg, dtype), device=device)
        if want[0] == "ok" and np.isnan(np.asarray(want[1], dtype=float)).any():
            assert got[0] == "ok" and np.isnan(np.asarray(got[1], dtype=float)).all(), (value, got)
        else:
            assert got == want, (value, dtype)


SIZES = [(2**40,), (2**20, 2**20), (2**62, 4), (2**61, 2, 2)]


@pytest.mark.parametrize("make", ["empty", "zeros", "ones", "rand", "randn", "full"])
def test_sizes_no_memory_holds(torch, device, make):
    """PyTorch: RuntimeError, 'Storage size calculation overflowed' past int64 bytes, else its allocator's
    error (CPU) or CUDA's out-of-memory error (a RuntimeError too)."""
    for size in SIZES:
        args = (size, 1.0) if make == "full" else size
        with pytest.raises(RuntimeError) as want:
            getattr(torch, make)(*args)
        with pytest.raises(RuntimeError) as got:
            getattr(tg, make)(*args, device=device)
        if "overflowed" in str(want.value) or device == "cpu":
            assert str(got.value) == str(want.value).split("] err == 0. ")[-1]  # NOTE: less C++'s file:line
        else:
            assert isinstance(got.value, tg.cuda.OutOfMemoryError) and "out of memory" in str(got.value)


@pytest.mark.parametrize("make, args", [("arange", (0, 2**40)), ("eye", (2**20,)), ("linspace", (0, 1, 2**40))])
def test_other_constructors_no_memory_holds(torch, make, args):
    with pytest.raises(RuntimeError) as want:
        getattr(torch, make)(*args)
    with pytest.raises(RuntimeError, match="you tried to allocate") as got:
        getattr(tg, make)(*args)
    assert str(got.value) == str(want.value).split("] err == 0. ")[-1]


def test_in_range_values_are_exact(device):
    assert tg.tensor([255, -255, 0], dtype=tg.uint8, device=device).tolist() == [255, 1, 0]
    assert tg.tensor([-2**63, 2**63 - 1], device=device).tolist() == [-2**63, 2**63 - 1]
    assert tg.tensor([2.9, -128.0], dtype=tg.int8, device=device).tolist() == [2, -128]
    assert tg.full((2,), -1, dtype=tg.uint8, device=device).tolist() == [255, 255]
    assert tg.tensor(np.array([300]), dtype=tg.uint8, device=device).tolist() == [44]  # arrays are cast
