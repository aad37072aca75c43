"""DLPack: tg.from_dlpack and Tensor.__dlpack__ share memory with NumPy and PyTorch (no copies).

On emulated CUDA, "cuda" tensors live in host memory and are exported as CPU DLPack tensors
through tritongrad's own ctypes capsule code (the code that exports real CUDA tensors with the
CUDA device type), and capsules are imported into emulated device arrays by the same code that
imports foreign CUDA memory: both are tested here. Real GPU interop with PyTorch runs only on a
machine with a GPU and a CUDA build of PyTorch.
"""
import gc
import sys

import numpy as np
import pytest

import tritongrad as tg
from tritongrad import _dlpack as D

EMULATED = tg.cuda.is_available() and tg.cuda.is_emulated()
needs_emulated = pytest.mark.skipif(not EMULATED, reason="emulated CUDA only (set TRITONGRAD_EMULATE_CUDA=1)")
NUMPY2 = D._NUMPY2  # NumPy 1.x: no versioned capsules, no from_dlpack(copy=), read-only imports
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]


def sample(rng, shape, dtype):
    a = rng.standard_normal(shape) * 10
    return (a > 0) if dtype is np.bool_ else a.astype(dtype)


# --- CPU: through NumPy ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_from_numpy_array_shares_memory(rng, dtype):
    a = sample(rng, (33, 65), dtype)
    t = tg.from_dlpack(a)
    assert t.dtype.np == a.dtype and t.shape == a.shape and t.device == tg.device("cpu")
    t[0, 0] = 1
    a[1, 2] = 0
    assert t[1, 2].item() == 0 and a[0, 0] == 1


@pytest.mark.parametrize("view", [lambda a: a.T, lambda a: a[1::2, 3:], lambda a: a[0, 0, ...], lambda a: a[:, None]])
def test_views_both_ways(rng, view):
    a = rng.standard_normal((6, 5))
    t = tg.from_dlpack(view(a))
    np.testing.assert_array_equal(t.numpy(), view(a))
    b = np.from_dlpack(view(tg.from_dlpack(a)))
    strides = [s for n, s in zip(b.shape, b.strides) if n > 1]  # NOTE: a size-1 dim's stride is free
    assert np.shares_memory(b, a) and strides == [s for n, s in zip(b.shape, view(a).strides) if n > 1]


def test_numpy_from_tensor_shares_memory():
    t = tg.arange(12.0).reshape(3, 4)
    n = np.from_dlpack(t)
    t[2, 3] = -1
    assert n[2, 3] == -1 and t.__dlpack_device__() == (1, 0)
    if NUMPY2:  # NumPy 1.x imports read-only
        n[0, 0] = 7
        assert t[0, 0].item() == 7
    assert tg.from_dlpack(t)._data is t._data  # a tritongrad tensor: a detached alias


def test_capsule_input():
    a = np.arange(4.0)
    t = tg.from_dlpack(a.__dlpack__())
    t.mul_(2)
    assert a.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_export_errors():
    with pytest.raises(BufferError, match="require gradient"):
        tg.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="cannot export"):
        tg.ones(2).__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError, match="__dlpack__"):
        tg.from_dlpack([1, 2])


def test_copy_flag():
    t = tg.ones(3)
    n = tg.from_dlpack(t.__dlpack__(copy=True))
    n[0] = 5
    assert t[0].item() == 1 and n[0].item() == 5


def test_max_version_on_cpu():
    """A consumer asking for DLPack 1.0 gets a versioned capsule where NumPy makes one (NumPy >= 2),
    else the unversioned kind, which the DLPack standard allows a producer to return."""
    cap = tg.arange(3.0).__dlpack__(max_version=(1, 0))
    name = b"dltensor_versioned" if NUMPY2 else b"dltensor"
    assert D._api.PyCapsule_IsValid(id(cap), name)
    assert tg.from_dlpack(cap).tolist() == [0.0, 1.0, 2.0]


def test_from_numpy_shares_memory():
    a = np.zeros(3, np.float32)
    t = tg.from_numpy(a)
    t.add_(1)
    assert a.tolist() == [1.0, 1.0, 1.0]


# --- CPU: with PyTorch ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
def test_torch_both_ways(torch, dtype):
    x = torch.arange(6).reshape(2, 3).to(getattr(torch, dtype))
    t = tg.from_dlpack(x.t())
    assert t.dtype.name == dtype and t.shape == (3, 2) and t.stride() == (1, 3)
    np.testing.assert_array_equal(t.numpy(), x.t().numpy())
    y = torch.from_dlpack(t)
    assert y.data_ptr() == x.data_ptr() and y.stride() == (1, 3)


def test_torch_writes_are_shared(torch):
    t = tg.zeros(2, 2)
    x = torch.from_dlpack(t)
    x += 3
    assert t.tolist() == [[3.0, 3.0], [3.0, 3.0]]


# --- emulated CUDA: tritongrad's own capsules -----------------------------------------------------------
@pytest.mark.cuda
@needs_emulated
@pytest.mark.parametrize("dtype", DTYPES)
def test_export_device_tensor(rng, dtype):
    a = sample(rng, (5, 7), dtype)
    t = tg.tensor(a, device="cuda")
    assert t.__dlpack_device__() == (D.kDLCPU, 0)
    n = np.from_dlpack(t.t())
    np.testing.assert_array_equal(n, a.T)
    assert n.strides == a.T.strides and n.flags.writeable == NUMPY2  # NumPy 1.x imports read-only
    w = tg.from_dlpack(t.t().__dlpack__())  # the capsule is writable: a CPU tensor over its memory
    w[0, 1] = 1
    assert t[1, 0].item() == 1


@pytest.mark.cuda
@needs_emulated
def test_export_device_tensor_to_torch(torch):
    t = tg.arange(6.0, device="cuda").reshape(2, 3)[:, 1:]
    x = torch.from_dlpack(t)
    assert x.tolist() == [[1.0, 2.0], [4.0, 5.0]] and x.stride() == (3, 1)
    x.mul_(10)
    assert t.tolist() == [[10.0, 20.0], [40.0, 50.0]]


@pytest.mark.cuda
@needs_emulated
@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_export_capsules_are_freed(max_version):
    t = tg.ones(4, device="cuda")
    cap = t.__dlpack__(max_version=max_version)
    name = b"dltensor_versioned" if max_version else b"dltensor"
    assert D._api.PyCapsule_IsValid(id(cap), name)
    addr = D._api.PyCapsule_GetPointer(id(cap), name)
    assert addr in D._EXPORTED
    del cap  # never consumed: the capsule's destructor frees the struct
    gc.collect()
    assert addr not in D._EXPORTED
    before = set(D._EXPORTED)
    n = np.from_dlpack(t)
    (addr,) = set(D._EXPORTED) - before
    del n  # consumed: NumPy calls our deleter when its array dies
    gc.collect()
    assert addr not in D._EXPORTED


@pytest.mark.cuda
@needs_emulated
def test_export_bfloat16_dtype_code():
    t = tg.tensor([1.5, -2.0], dtype=tg.bfloat16, device="cuda")
    cap = t.__dlpack__()  # NOTE: held: the struct dies with an unconsumed capsule
    _, _, dl, _ = D._capsule_struct(cap)
    assert (dl.dtype.code, dl.dtype.bits, dl.dtype.lanes) == (4, 16, 1) and dl.ndim == 1


@pytest.mark.cuda
@needs_emulated
@pytest.mark.parametrize("versioned", [False, True])
def test_import_capsule_into_device_array(rng, versioned):
    if versioned and not NUMPY2:
        pytest.skip("NumPy < 2 exports no versioned capsules")
    a = rng.standard_normal((4, 6))
    refs = sys.getrefcount(a)
    cap = a.__dlpack__(max_version=(1, 0)) if versioned else a.__dlpack__()
    t = tg.Tensor._make(D.import_capsule(cap, D.kDLCPU))
    del cap
    assert t.is_cuda and t.shape == (4, 6) and sys.getrefcount(a) == refs + 1  # the producer holds `a`
    np.testing.assert_allclose((t * 2).cpu().numpy(), a * 2)  # a Triton kernel reads the foreign memory
    t.add_(1)  # and writes it
    np.testing.assert_allclose(t.cpu().numpy(), a)
    del t
    gc.collect()
    assert sys.getrefcount(a) == refs  # our storage called the producer's deleter


@pytest.mark.cuda
@needs_emulated
def test_import_torch_capsule_strided(torch):
    x = torch.arange(12.0).reshape(3, 4)
    t = tg.Tensor._make(D.import_capsule(torch.utils.dlpack.to_dlpack(x.t()), D.kDLCPU))
    assert t.stride() == (1, 4) and t.sum(0).tolist() == x.t().sum(0).tolist()


@pytest.mark.cuda
@needs_emulated
def test_import_errors():
    with pytest.raises(BufferError, match="negative strides"):
        D.import_capsule(np.arange(5.0)[::-1].__dlpack__(), D.kDLCPU)
    with pytest.raises(BufferError, match="expected a DLPack tensor on device"):
        D.import_capsule(np.arange(5.0).__dlpack__(), D.kDLCUDA)
    cap = np.arange(3.0).__dlpack__()
    D.import_capsule(cap, D.kDLCPU)
    with pytest.raises(BufferError, match="an unused one"):
        D.import_capsule(cap, D.kDLCPU)  # a capsule is consumed once


# --- real GPU -------------------------------------------------------------------------------------------
def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


@pytest.mark.cuda
@pytest.mark.skipif(EMULATED or not tg.cuda.is_available() or _torch_cuda() is None,
                    reason="needs a real GPU and a CUDA build of PyTorch")
def test_real_cuda_with_torch():
    torch = _torch_cuda()
    x = torch.arange(6.0, device="cuda").reshape(2, 3)
    t = tg.from_dlpack(x.t())
    assert t.is_cuda and t.stride() == (1, 3) and t.tolist() == x.t().tolist()
    t.mul_(2)
    torch.cuda.synchronize()
    tg.cuda.synchronize()
    assert x.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
    y = torch.from_dlpack(t)
    assert y.data_ptr() == x.data_ptr()
    z = torch.from_dlpack(tg.ones(3, device="cuda") * 7)
    assert z.tolist() == [7.0, 7.0, 7.0]


def test_raw_capsule_keeps_producer_alive_and_is_writable():
    a = np.empty((2, 3))  # owns its memory: views of it hold a reference to it
    a[...] = np.arange(6.0).reshape(2, 3)
    refs = sys.getrefcount(a)
    t = tg.from_dlpack(a.T.__dlpack__())  # an unversioned capsule
    assert sys.getrefcount(a) == refs + 1 and t.stride() == (1, 3)
    t[0, 1] = -1
    assert a[1, 0] == -1
    del t
    gc.collect()
    assert sys.getrefcount(a) == refs
