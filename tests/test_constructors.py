"""Constructors as PyTorch has them: Tensor(list) / Tensor(*sizes) / Tensor(), the typed
FloatTensor ... BoolTensor, default dtype and device, linspace (PyTorch's exact values), logspace,
eye, the *_like family with dtype= / device=, size= keywords, and nn.functional.one_hot.
"""
import numpy as np
import pytest
from helpers import same_error

import tritongrad as tg
import tritongrad.nn.functional as F


def _same(ours, theirs):
    a, b = ours.cpu().numpy(), theirs.numpy()
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1] and a.shape == b.shape
    np.testing.assert_array_equal(a, b)




def test_tensor_constructor(torch):
    for args in ([[1, 2], [3, 4]], [1.5, -2.0], (2, 3), [True, False]):
        _same(tg.Tensor(args), torch.Tensor(args))
    assert tg.Tensor(np.arange(6).reshape(2, 3)).dtype == tg.float32
    for sizes in ((2, 3), (4,), (0,)):
        t = tg.Tensor(*sizes)
        assert t.dtype == tg.float32 and t.shape == sizes
    assert tg.Tensor(tg.Size([2, 5])).shape == (2, 5)
    assert tg.Tensor().shape == (0,) and tg.Tensor().dtype == tg.float32
    x = tg.arange(4)
    alias = tg.Tensor(x)
    alias[0] = 7
    assert alias.dtype == tg.int64 and x[0].item() == 7  # shares memory, keeps its dtype, as torch's
    for call in (lambda T: T.Tensor("a"), lambda T: T.Tensor(2.5), lambda T: T.Tensor(2, 3.0),
                 lambda T: T.Tensor(-1), lambda T: T.FloatTensor([1.0], device="cuda")):
        same_error(call, torch)


def test_typed_constructors(torch):
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor", "ShortTensor"):
        for args in (([1.7, 2.0, 0.0],), ([[1, 0], [2, 3]],), ()):
            _same(getattr(tg, name)(*args), getattr(torch, name)(*args))
        t = getattr(tg, name)(2, 3)
        assert t.shape == (2, 3) and isinstance(t, getattr(tg, name))
        assert t.dtype.name == str(getattr(torch, name)(1).dtype).split(".")[1]
    assert isinstance(tg.zeros(2), tg.FloatTensor) and not isinstance(tg.zeros(2), tg.LongTensor)
    assert not isinstance(tg.zeros(2, dtype=tg.int64), tg.FloatTensor)
    assert isinstance(tg.tensor([1, 2]), tg.LongTensor) and isinstance(tg.tensor([1, 2]), tg.Tensor)


def test_default_dtype(torch):
    assert tg.get_default_dtype() is tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.Tensor([1]).dtype == tg.float64 and tg.tensor([1.5]).dtype == tg.float64
        assert tg.rand(2).dtype == tg.float64 and tg.linspace(0, 1, 3).dtype == tg.float64
        assert tg.FloatTensor([1]).dtype == tg.float32
    finally:
        tg.set_default_dtype(tg.float32)
    same_error(lambda T: T.set_default_dtype(T.int64), torch)


def test_default_device(device):
    assert tg.get_default_device() == tg.device("cpu")
    tg.set_default_device(device)
    try:
        for t in (tg.zeros(2), tg.ones(size=(2,)), tg.empty(3), tg.rand(2), tg.randn(2), tg.randint(3, (2,)),
                  tg.tensor([1.0]), tg.arange(3), tg.full((2,), 1.5), tg.Tensor([1.0])):
            assert t.device == tg.device(device)
        assert tg.get_default_device() == tg.device(device)
    finally:
        tg.set_default_device(None)
    assert tg.zeros(1).device == tg.device("cpu")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
def test_linspace_logspace_eye(torch, device, dtype):
    for args in ((0, 1, 7), (-3.5, 2.25, 97), (0, 10, 1), (1, 0, 5), (0, 1, 0), (-1e3, 7.3, 33)):
        _same(tg.linspace(*args, dtype=getattr(tg, dtype), device=device), torch.linspace(*args, dtype=getattr(
            torch, dtype)))
    if dtype in ("float32", "float64"):
        for args in ((0, 2, 5), (-1, 1, 7, 2.0), (3, -2, 33)):
            np.testing.assert_allclose(tg.logspace(*args, dtype=getattr(tg, dtype), device=device).cpu().numpy(),
                                       torch.logspace(*args, dtype=getattr(torch, dtype)).numpy(), rtol=1e-6)
    for args in ((3,), (2, 5), (4, 1), (0,)):
        _same(tg.eye(*args, dtype=getattr(tg, dtype), device=device), torch.eye(*args, dtype=getattr(torch, dtype)))


def test_like_and_size_keywords(torch, device):
    x = tg.rand(3, 4, dtype=tg.float64, device=device)
    assert tg.zeros_like(x).dtype == tg.float64 and tg.zeros_like(x).device == x.device
    assert tg.zeros_like(x, dtype=tg.int32).dtype == tg.int32
    assert tg.ones_like(x, device="cpu").device == tg.device("cpu")
    assert tg.empty_like(x, dtype=tg.float16).shape == (3, 4)
    assert tg.rand_like(x, dtype=tg.float32).dtype == tg.float32 and tg.randn_like(x).device == x.device
    _same(tg.full_like(x, 2.5), torch.full_like(torch.zeros(3, 4, dtype=torch.float64), 2.5))
    _same(tg.full_like(x, 7, dtype=tg.int64), torch.full_like(torch.zeros(3, 4), 7, dtype=torch.int64))
    assert tg.ones_like(x, requires_grad=True).requires_grad
    for fn in ("zeros", "ones", "empty", "rand", "randn"):
        t = getattr(tg, fn)(size=(2, 3), device=device)
        assert t.shape == (2, 3) and t.dtype == tg.float32
    assert tg.randint(5, size=(4,), device=device).shape == (4,)
    assert tg.full(size=(2,), fill_value=3).dtype == tg.int64


def test_one_hot(torch, device):
    idx = [[0, 3, 1], [2, 2, 0]]
    _same(F.one_hot(tg.tensor(idx, device=device)), torch.nn.functional.one_hot(torch.tensor(idx)))
    _same(F.one_hot(tg.tensor([4, 0], device=device), 6), torch.nn.functional.one_hot(torch.tensor([4, 0]), 6))
    _same(F.one_hot(tg.zeros(0, dtype=tg.int64, device=device), 3),
          torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.int64), 3))
    for call in (lambda T: T.nn.functional.one_hot(T.tensor([1.0])),
                 lambda T: T.nn.functional.one_hot(T.tensor([-1, 0])),
                 lambda T: T.nn.functional.one_hot(T.tensor([3]), 2),
                 lambda T: T.nn.functional.one_hot(T.zeros(0, dtype=T.int64))):
        same_error(call, torch)
