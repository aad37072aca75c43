"""kernels/index.py (gather / scatter family) against the NumPy reference (backends/cpu_nn.py) and
PyTorch: repeated indices, negative and out-of-range indices (PyTorch's errors, nothing written),
strided views, every dtype family; the references' gradients (a gather's is a scatter-add) against
float64 finite differences. Runs under Triton's interpreter:
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_index.py
"""
import numpy as np
import pytest
from nn_kernel_helpers import back, close, dev, finite_diff, host, ref_dtype

import tritongrad.cuda
from tritongrad import _dtype as D
from tritongrad.backends import cpu_nn as R

CUDA = tritongrad.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]
DTYPES = [D.float32, D.float64, D.float16, D.bfloat16, D.int64, D.int8, D.bool_]


def _data(rng, shape, dtype):
    if dtype is D.bool_:
        return rng.random(shape) < 0.5
    if not dtype.is_floating_point:
        return rng.integers(-50, 50, shape).astype(dtype.np)
    return host(rng, shape, dtype)


def _equal(got, ref, dtype):
    if dtype.is_floating_point:
        close(got, ref, dtype)
    else:
        np.testing.assert_array_equal(back(got), ref)


def _K():
    from tritongrad.kernels import index as K
    return K


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_index_select(rng, dtype):
    x = _data(rng, (33, 65), dtype)
    for dim, idx in [(0, np.array([3, 0, 3, 32, 3])), (1, np.array([64, 1, 1, 0], np.int32)), (0, np.array(7))]:
        _equal(_K().index_select(dev(x, dtype), dim, dev(idx)), R.index_select(ref_dtype(x, dtype), dim, idx), dtype)


@needs_cuda
def test_index_select_views_wrap_and_0d(rng):
    base = host(rng, (40, 30), D.float32)
    xt = dev(base).permute((1, 0)).index((slice(2, 29), slice(None, None, 3)))  # (27, 14), strided, offset
    xr = base.T[2:29, ::3]
    idx = np.array([-1, 5, -27, 5, 0])
    close(_K().index_select(xt, 0, dev(idx), wrap=True), R.index_select(xr, 0, idx, wrap=True), D.float32)
    idx1 = np.array([13, -14, 0], np.int32)
    close(_K().index_select(xt, 1, dev(idx1), wrap=True), R.index_select(xr, 1, idx1, wrap=True), D.float32)
    s = np.array(2.5, np.float32)
    close(_K().index_select(dev(s), 0, dev(np.array([0]))), R.index_select(s, 0, np.array([0])), D.float32)


@needs_cuda
@pytest.mark.parametrize("dtype", [D.float32, D.bfloat16, D.int8], ids=str)
def test_gather(rng, dtype):
    x = _data(rng, (5, 7, 9), dtype)
    for dim in range(3):
        ishape = [4, 6, 8]
        ishape[dim] = 11
        idx = rng.integers(0, x.shape[dim], ishape)
        _equal(_K().gather(dev(x, dtype), dim, dev(idx)), R.gather(ref_dtype(x, dtype), dim, idx), dtype)


@needs_cuda
@pytest.mark.parametrize("dtype", [D.float32, D.float64, D.float16, D.bfloat16, D.int64, D.int32, D.uint8, D.bool_],
                         ids=str)
def test_index_add_repeated_indices(rng, dtype):
    out = _data(rng, (6, 17), dtype)
    src = _data(rng, (40, 17), dtype)
    idx = rng.integers(0, 6, 40)  # NOTE: 40 into 6 rows: every row repeated
    alpha = 1 if dtype is D.bool_ else (2 if not dtype.is_floating_point else 0.5)
    want = R.index_add_(ref_dtype(out, dtype).copy(), 0, idx, ref_dtype(src, dtype), alpha)
    got = _K().index_add_(dev(out, dtype), 0, dev(idx), dev(src, dtype), alpha)
    if dtype is D.bfloat16:  # the reference adds in float32 and returns float32: round as the kernel does
        want = ref_dtype(want, dtype)
    _equal(got, want, dtype)


@needs_cuda
def test_index_add_strided_dim1_skip_wrap(rng):
    base = host(rng, (20, 9), D.float64)
    out = dev(base).permute((1, 0))  # (9, 20), transposed: written in place
    src = host(rng, (9, 30), D.float64)
    idx = rng.integers(-20, 20, 30)
    want = R.index_add_(base.T.copy(), 1, idx, src, 3.0, wrap=True, skip=4)
    got = _K().index_add_(out, 1, dev(idx), dev(src), 3.0, wrap=True, skip=4)
    close(got, want, D.float64)
    close(back(out.permute((1, 0))), want.T, D.float64)  # the same memory


@needs_cuda
@pytest.mark.parametrize("reduce", [None, "add"])
def test_scatter(rng, reduce):
    out = host(rng, (5, 8), D.float32)
    src = host(rng, (4, 9), D.float32)
    if reduce is None:  # NOTE: unique targets per column: which of repeated values lands is unspecified
        idx = np.stack([rng.permutation(5)[:3] for _ in range(6)], 1)
    else:
        idx = rng.integers(0, 5, (3, 6))
    want = R.scatter_(out.copy(), 0, idx, src, reduce)
    close(_K().scatter_(dev(out), 0, dev(idx), dev(src), reduce), want, D.float32)


@needs_cuda
def test_empty_indices(rng):
    K = _K()
    x = host(rng, (5, 3), D.float32)
    e = np.zeros(0, np.int64)
    assert back(K.index_select(dev(x), 0, dev(e))).shape == (0, 3)
    close(K.index_add_(dev(x), 0, dev(e), dev(np.zeros((0, 3), np.float32))), x, D.float32)
    assert back(K.gather(dev(x), 1, dev(np.zeros((5, 0), np.int64)))).shape == (5, 0)


@needs_cuda
def test_index_copy(rng):
    out = _data(rng, (7, 5), D.int64)
    src = _data(rng, (7, 3), D.int64)
    idx = np.array([4, 0, 2], np.int32)
    want = R.index_copy_(out.copy(), 1, idx, src)
    _equal(_K().index_copy_(dev(out), 1, dev(idx), dev(src)), want, D.int64)


# --- errors: PyTorch's type and text, and nothing written ------------------------------------------
def _calls(torch, K, x, t, dev_fn):
    """(name, tritongrad call, torch call) pairs with an out-of-range index; x / t 5 x 3."""
    bad = np.array([1, 7, 0])
    tb = torch.tensor(bad)
    g = np.array([[1, 2, 0], [0, -1, 0]])
    return [
        ("index_select", lambda: K.index_select(x, 0, dev_fn(bad)), lambda: t.index_select(0, tb)),
        ("getitem", lambda: K.index_select(x, 0, dev_fn(np.array([1, -7])), wrap=True),
         lambda: t[torch.tensor([1, -7])]),
        ("gather", lambda: K.gather(x, 0, dev_fn(g)), lambda: t.gather(0, torch.tensor(g))),
        ("scatter_add_", lambda: K.scatter_(x, 0, dev_fn(g), dev_fn(np.ones((2, 3), np.float32)), "add"),
         lambda: t.scatter_add_(0, torch.tensor(g), torch.ones(2, 3))),
        ("index_add_", lambda: K.index_add_(x, 0, dev_fn(bad), dev_fn(np.ones((3, 3), np.float32))),
         lambda: t.index_add_(0, tb, torch.ones(3, 3))),
        ("index_put_", lambda: K.index_add_(x, 0, dev_fn(np.array([1, 5])), dev_fn(np.ones((2, 3), np.float32)),
                                            wrap=True),
         lambda: t.index_put_((torch.tensor([1, 5]),), torch.ones(2, 3), accumulate=True)),
        ("index_copy_", lambda: K.index_copy_(x, 0, dev_fn(bad), dev_fn(np.ones((3, 3), np.float32))),
         lambda: t.index_copy_(0, tb, torch.ones(3, 3))),
        ("index_add_dtype", lambda: K.index_add_(x, 0, dev_fn(np.array([1])), dev_fn(np.ones((1, 3)))),
         lambda: t.index_add_(0, torch.tensor([1]), torch.ones(1, 3, dtype=torch.float64))),
        ("gather_shape", lambda: K.gather(x, 0, dev_fn(np.zeros((1, 4), np.int64))),
         lambda: t.gather(0, torch.zeros(1, 4, dtype=torch.int64))),
        ("index_dtype", lambda: K.index_select(x, 0, dev_fn(np.array([1.0]))),
         lambda: t.index_select(0, torch.tensor([1.0]))),
        ("scatter_ndim", lambda: K.scatter_(x, 0, dev_fn(np.array([1, 2])), dev_fn(np.ones(2, np.float32))),
         lambda: t.scatter_(0, torch.tensor([1, 2]), torch.ones(2))),
        ("scatter_src_ndim", lambda: K.scatter_(x, 0, dev_fn(g[:1, :2]), dev_fn(np.ones((1, 2, 1), np.float32))),
         lambda: t.scatter_(0, torch.tensor(g[:1, :2]), torch.ones(1, 2, 1))),
        ("scatter_dtype", lambda: K.scatter_(x, 0, dev_fn(g[:1, :2]), dev_fn(np.ones((1, 2)))),
         lambda: t.scatter_(0, torch.tensor(g[:1, :2]), torch.ones(1, 2, dtype=torch.float64))),
        ("dim_range", lambda: K.index_select(x, 2, dev_fn(np.array([1]))),
         lambda: t.index_select(2, torch.tensor([1]))),
        ("index_2d", lambda: K.index_select(x, 0, dev_fn(np.array([[1]]))),
         lambda: t.index_select(0, torch.tensor([[1]]))),
        ("index_add_count", lambda: K.index_add_(x, 0, dev_fn(np.array([1, 2])), dev_fn(np.ones((3, 3), np.float32))),
         lambda: t.index_add_(0, torch.tensor([1, 2]), torch.ones(3, 3))),
        ("index_add_shape", lambda: K.index_add_(x, 0, dev_fn(np.array([1, 2])), dev_fn(np.ones((2, 4), np.float32))),
         lambda: t.index_add_(0, torch.tensor([1, 2]), torch.ones(2, 4))),
        ("index_copy_count",
         lambda: K.index_copy_(x, 0, dev_fn(np.array([1, 2])), dev_fn(np.ones((3, 3), np.float32))),
         lambda: t.index_copy_(0, torch.tensor([1, 2]), torch.ones(3, 3))),
    ]


@pytest.mark.parametrize("device", DEVICES)
def test_errors_match_torch_and_write_nothing(torch, rng, device):
    x0 = host(rng, (5, 3), D.float32)
    t = torch.tensor(x0)
    if device == "cpu":
        K, x, dev_fn, read = R, x0.copy(), (lambda a: a), (lambda a: a)
    else:
        K, x, dev_fn, read = _K(), dev(x0), dev, back
    for name, ours, theirs in _calls(torch, K, x, t, dev_fn):
        with pytest.raises(Exception) as want:
            theirs()
        with pytest.raises(type(want.value)) as got:
            ours()
        assert str(got.value) == str(want.value), name
        np.testing.assert_array_equal(read(x), x0, err_msg=name)


@needs_cuda
def test_unchecked_out_of_range_never_touches_memory(rng):
    """check=False: an out-of-range index reads 0 and writes nothing, even next to other data."""
    K = _K()
    buf = host(rng, (9, 4), D.float32)
    whole = dev(buf)
    mid = whole.index((slice(3, 6),))  # rows 3..5 of the buffer: rows outside are its neighbours
    idx = np.array([1, 3, -1, 2, 1])
    K.index_add_(mid, 0, dev(idx), dev(np.ones((5, 4), np.float32)), check=False)
    want = buf.copy()
    want[4] += 2
    want[5] += 1
    np.testing.assert_array_equal(back(whole), want)
    got = back(K.index_select(mid, 0, dev(idx), check=False))
    np.testing.assert_array_equal(got, np.stack([want[4], np.zeros(4), np.zeros(4), want[5], want[4]]))


# --- against PyTorch, and the references' gradients -----------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_embedding_forward_backward_against_torch(torch, rng, device):
    """F.embedding with repeated ids and padding_idx: forward = index_select of rows, backward =
    index_add_ of the output gradient's rows, padding_idx skipped."""
    V, C = 11, 7
    w = host(rng, (V, C), D.float64)
    ids = rng.integers(0, V, (4, 9))
    ids[0, :3] = 2  # repeats, and the padding index
    g = host(rng, (4, 9, C), D.float64)
    tw = torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.tensor(ids), tw, padding_idx=2)
    ty.backward(torch.tensor(g))
    K, to_dev, read = (R, (lambda a: a), (lambda a: a)) if device == "cpu" else (_K(), dev, back)
    y = read(K.index_select(to_dev(w), 0, to_dev(ids.reshape(-1)))).reshape(4, 9, C)
    gw = read(K.index_add_(to_dev(np.zeros((V, C))), 0, to_dev(ids.reshape(-1)), to_dev(g.reshape(-1, C)), skip=2))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_reference_gradients_finite_differences(rng):
    """The gradient of a gather is a scatter-add of the upstream gradient (of index_select, an
    index_add_), repeated indices included."""
    x = rng.standard_normal((4, 5))
    idx = rng.integers(0, 4, (6, 5))
    w = rng.standard_normal((6, 5))
    (num,) = finite_diff(lambda a: R.gather(a, 0, idx), [x], w)
    np.testing.assert_allclose(R.scatter_(np.zeros_like(x), 0, idx, w, "add"), num, rtol=1e-7, atol=1e-9)
    sel = np.array([3, 0, 3, 3])
    w2 = rng.standard_normal((4, 4))
    (num,) = finite_diff(lambda a: R.index_select(a, 1, sel), [x], w2)
    np.testing.assert_allclose(R.index_add_(np.zeros_like(x), 1, sel, w2), num, rtol=1e-7, atol=1e-9)
