"""Tensor basics: constructors, dtypes and promotion, conversions, metadata and repr (PyTorch's, exactly).

PyTorch is the oracle where it is installed: reprs and messages are compared with its text after
replacing "torch." with "tritongrad." (the one documented difference).
"""
import re
import warnings

import numpy as np
import pytest

import tritongrad as tg

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def tg_text(s):
    return s.replace("torch.", "tritongrad.")


def same_suffix_breaks(s):
    """A repr with its suffixes (dtype=..., requires_grad=...) on the last line.

    NOTE: 'tritongrad.float64' is 5 characters longer than 'torch.float64', so a suffix that fits
    on PyTorch's line may wrap onto the next one in ours (by PyTorch's own wrapping rule).
    """
    return re.sub(r",\n\s+(?=(device=|dtype=|size=|grad_fn=|requires_grad=))", ", ", s)


# --- constructors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("data, dtype, values", [
    ([1.5, -2.0], tg.float32, [1.5, -2.0]),
    ([[1, 2], [3, 4]], tg.int64, [[1, 2], [3, 4]]),
    ([True, False], tg.bool, [True, False]),
    ([1, 2.5], tg.float32, [1.0, 2.5]),
    ([True, 2], tg.int64, [1, 2]),
    (3.25, tg.float32, 3.25),
    (7, tg.int64, 7),
    ([], tg.float32, []),
])
def test_tensor_infers_dtype(data, dtype, values):
    t = tg.tensor(data)
    assert t.dtype is dtype
    assert t.tolist() == values
    assert not t.requires_grad and t.is_leaf and t.grad_fn is None


def test_tensor_from_numpy_scalar_keeps_dtype():
    assert tg.tensor(np.float64(1.5)).dtype is tg.float64 and tg.tensor(np.int32(3)).dtype is tg.int32
    assert tg.tensor(np.bool_(True)).dtype is tg.bool and tg.tensor(np.float16(2)).item() == 2.0


@pytest.mark.parametrize("np_dtype", ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                                      "bool"])
def test_tensor_from_numpy_keeps_dtype_and_copies(np_dtype, rng):
    a = (rng.standard_normal((3, 5)) * 10).astype(np_dtype)
    t = tg.tensor(a)
    assert t.dtype is getattr(tg, np_dtype)
    np.testing.assert_array_equal(t.numpy(), a)
    a[0, 0] = 1 if np_dtype != "bool" else not a[0, 0]
    assert t.numpy()[0, 0] != a[0, 0], "tg.tensor must copy"


def test_from_numpy_and_as_tensor_share_memory(rng):
    a = rng.standard_normal(7)
    for t in (tg.from_numpy(a), tg.as_tensor(a)):
        a[3] = 42.0
        assert t[3].item() == 42.0
    t = tg.as_tensor(a, dtype=tg.float32)
    a[3] = -1.0
    assert t[3].item() == 42.0  # a conversion: a copy


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_dtype_keyword(dtype, device, rng):
    dt = getattr(tg, dtype)
    a = rng.standard_normal((2, 3)) * 5
    t = tg.tensor(a, dtype=dt, device=device)
    assert t.dtype is dt and t.device == tg.device(device)
    np.testing.assert_array_equal(t.cpu().numpy(), a.astype(dt.np))


def test_tensor_device_and_requires_grad(device):
    t = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    assert t.device == tg.device(device) and str(t.device) == ("cpu" if device == "cpu" else "cuda:0")
    assert t.is_cuda == (device == "cuda")
    assert t.requires_grad and t.is_leaf and t.grad is None


def test_tensor_copy_construct_warns():
    src = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match=r"sourceTensor\.clone\(\)\.detach\(\)"):
        t = tg.tensor(src)
    assert not t.requires_grad and t.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make", [
    lambda d: tg.zeros(2, 3, device=d), lambda d: tg.zeros((2, 3), device=d), lambda d: tg.ones([2, 3], device=d),
    lambda d: tg.empty(2, 3, device=d), lambda d: tg.full((2, 3), 1.5, device=d), lambda d: tg.rand(2, 3, device=d),
    lambda d: tg.randn(2, 3, device=d)])
def test_filled_constructors(make, device):
    t = make(device)
    assert t.shape == (2, 3) and t.dtype is tg.float32 and t.device == tg.device(device)
    assert not t.requires_grad


def test_constructor_values(device):
    assert tg.zeros(3, device=device).tolist() == [0.0] * 3
    assert tg.ones(2, 1, dtype=tg.int32, device=device).tolist() == [[1], [1]]
    assert tg.full((2,), 7, device=device).dtype is tg.int64
    assert tg.full((2,), True).dtype is tg.bool
    assert tg.full((2,), 7.5, dtype=tg.float64, device=device).tolist() == [7.5, 7.5]
    assert tg.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(1.0, 2.0, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert tg.arange(1, 10, 3).dtype is tg.int64
    np.testing.assert_allclose(tg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert tg.eye(2, 3, dtype=tg.int32).tolist() == [[1, 0, 0], [0, 1, 0]]
    r = tg.rand(97, device=device).cpu().numpy()
    assert (r >= 0).all() and (r < 1).all() and r.std() > 0.1


def test_like_constructors(device):
    x = tg.ones(3, 1, dtype=tg.float64, device=device)
    for t in (tg.zeros_like(x), tg.ones_like(x), tg.empty_like(x), tg.full_like(x, 2), tg.rand_like(x),
              tg.randn_like(x)):
        assert t.shape == (3, 1) and t.dtype is tg.float64 and t.device == x.device
    assert tg.zeros_like(x, dtype=tg.int32).dtype is tg.int32
    assert tg.ones_like(x, requires_grad=True).requires_grad
    assert x.new_zeros((2,)).dtype is tg.float64 and x.new_ones(4).shape == (4,)
    assert x.new_full((2, 2), 3).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert x.new_tensor([1, 2]).dtype is tg.float64


def test_constructor_requires_grad():
    for t in (tg.zeros(2, requires_grad=True), tg.randn(2, requires_grad=True), tg.full((2,), 1.0, requires_grad=True),
              tg.arange(3.0, requires_grad=True), tg.eye(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None


def test_constructor_errors(torch):
    cases = [
        lambda L: L.tensor([1, 2], requires_grad=True),
        lambda L: L.zeros(2, dtype=L.int64, requires_grad=True),
        lambda L: L.ones(-1),
        lambda L: L.empty(2, -3),
        lambda L: L.rand(-1),
        lambda L: L.randn(2, 3, dtype=L.int64),
        lambda L: L.arange(0, 5, 0),
    ]
    for case in cases:
        with pytest.raises(Exception) as want:
            case(torch)
        with pytest.raises(type(want.value)) as got:
            case(tg)
        assert str(got.value) == tg_text(str(want.value))


def test_tensor_bad_data():
    with pytest.raises(ValueError):
        tg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        tg.tensor("abc")


# --- dtypes and promotion ------------------------------------------------------------------------
@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promote_types(a, b, torch):
    want = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert tg.promote_types(getattr(tg, a), getattr(tg, b)) is getattr(tg, str(want).split(".")[1])


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES + ["0-dim " + d for d in DTYPES] + [2, 2.5, True])
def test_binary_result_dtype(a, b, torch):
    """The dtype (and values) of a + b, a * b and a / b, for b a tensor, a 0-dim tensor or a Python scalar."""
    if isinstance(b, str):
        shape = () if b.startswith("0-dim") else (3,)
        other = {L: L.full(shape, 3, dtype=getattr(L, b.split()[-1])) for L in (torch, tg)}
    else:
        other = {torch: b, tg: b}
    for op in ("add", "mul", "div"):
        x = {L: L.full((3,), 2, dtype=getattr(L, a)) for L in (torch, tg)}
        want = getattr(x[torch], op)(other[torch])
        got = getattr(x[tg], op)(other[tg])
        assert got.dtype.name == str(want.dtype).split(".")[1], (op, a, b)
        np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64))


def test_default_dtype_roundtrip():
    assert tg.get_default_dtype() is tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.tensor([1.5]).dtype is tg.float64 and tg.zeros(2).dtype is tg.float64
        assert (tg.tensor([1, 2]) * 0.5).dtype is tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.tensor([1.5]).dtype is tg.float32
    with pytest.raises(TypeError):
        tg.set_default_dtype(tg.int64)


# --- conversions ---------------------------------------------------------------------------------
def test_to_returns_self_when_nothing_changes(device):
    x = tg.randn(3, device=device)
    assert x.to(tg.float32) is x and x.to(device) is x and x.float() is x and x.to(x) is x
    assert x.contiguous() is x
    y = x.to(tg.float32, copy=True)
    assert y is not x and y.tolist() == x.tolist()


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                           ("long", "int64"), ("int", "int32"), ("bool", "bool")])
def test_dtype_methods(method, dtype, device, torch, rng):
    a = rng.standard_normal(33) * 4
    got = getattr(tg.tensor(a, dtype=tg.float64, device=device), method)()
    want = getattr(torch.tensor(a, dtype=torch.float64), method)()
    assert got.dtype is getattr(tg, dtype) and got.device == tg.device(device)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_to_forms(device):
    x = tg.tensor([1.25, -2.5])
    assert x.to(tg.float64).dtype is tg.float64
    assert x.to(dtype=tg.float16).dtype is tg.float16
    y = x.to(device, tg.float64)
    assert y.device == tg.device(device) and y.dtype is tg.float64
    z = x.to(tg.zeros(1, dtype=tg.int32, device=device))
    assert z.dtype is tg.int32 and z.device == tg.device(device) and z.cpu().tolist() == [1, -2]
    assert y.cpu().device == tg.device("cpu") and y.cpu().tolist() == [1.25, -2.5]
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        x.to(foo=1)


def test_to_and_clone_copy_memory(device, rng):
    x = tg.tensor(rng.standard_normal((3, 4)), device=device)
    for y in (x.clone(), x.to(tg.float32), x.to(tg.float64, copy=True)):
        y.fill_(1.0)
        assert x.cpu().numpy().std() > 0, "a copy must not write into its source"
    assert x.clone()._version == 0


def test_contiguous_copies_a_strided_view(device, rng):
    a = rng.standard_normal((33, 17))
    x = tg.tensor(a, device=device)
    xt = x.t()
    assert not xt.is_contiguous() and xt.stride() == (1, 17)
    c = xt.contiguous()
    assert c.is_contiguous() and c.stride() == (33, 1)
    np.testing.assert_array_equal(c.cpu().numpy(), a.T)


def test_conversions_keep_autograd(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for y, name in ((x.to(tg.float64), "ToCopyBackward0"), (x.clone(), "CloneBackward0"),
                    (x.to(device, tg.float64), "ToCopyBackward0")):
        assert y.grad_fn.name() == name and y.requires_grad and not y.is_leaf
    y = x.to(device)
    (y * tg.tensor([3.0, 4.0], device=device)).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0] and x.grad.device == tg.device("cpu")


# --- metadata ------------------------------------------------------------------------------------
def test_metadata(device, rng):
    x = tg.tensor(rng.standard_normal((3, 1, 17)), dtype=tg.float32, device=device)
    assert x.shape == (3, 1, 17) and isinstance(x.shape, tg.Size) and repr(x.shape) == "tritongrad.Size([3, 1, 17])"
    assert x.size() == (3, 1, 17) and x.size(0) == 3 and x.size(-1) == 17 and x.size(1) == 1
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 51 and len(x) == 3
    assert x.dtype is tg.float32 and x.element_size() == 4 and x.is_floating_point()
    assert x.T.shape == (17, 1, 3)
    assert x.stride() == (17, 17, 1)
    assert tg.tensor(2.0).shape == () and tg.tensor(2.0).ndim == 0 and tg.tensor(2.0).numel() == 1
    with pytest.raises(IndexError, match=re.escape("Dimension out of range (expected to be in range of [-3, 2], "
                                                   "but got 3)")):
        x.size(3)


def test_numpy_item_tolist_array(rng):
    a = rng.standard_normal((4, 3))
    x = tg.tensor(a, dtype=tg.float64)
    n = x.numpy()
    np.testing.assert_array_equal(n, a)
    n[0, 0] = 123.0
    assert x[0, 0].item() == 123.0, "numpy() of a CPU tensor shares its memory"
    np.testing.assert_array_equal(np.asarray(x), n)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert x.tolist() == n.tolist()
    assert tg.tensor(2.5).item() == 2.5 and isinstance(tg.tensor(3).item(), int)
    assert isinstance(tg.tensor([True]).item(), bool) and tg.tensor([[1.5]]).item() == 1.5
    assert tg.tensor(2.5).tolist() == 2.5
    assert float(tg.tensor([2.5])) == 2.5 and int(tg.tensor(3.9)) == 3 and bool(tg.tensor([1.0]))


def test_numpy_refuses_grad_and_cuda(device):
    x = tg.ones(2, requires_grad=True, device=device)
    with pytest.raises((RuntimeError, TypeError)):
        x.numpy()
    assert x.detach().cpu().numpy().tolist() == [1.0, 1.0]


def test_scalar_conversion_errors(torch):
    cases = [lambda L: L.ones(2).item(), lambda L: float(L.ones(2)), lambda L: int(L.ones(3)),
             lambda L: bool(L.ones(2)), lambda L: len(L.tensor(1.0)), lambda L: L.ones(2).__index__(),
             lambda L: L.ones(2, requires_grad=True).numpy(), lambda L: np.asarray(L.ones(2, requires_grad=True))]
    for case in cases:
        with pytest.raises(Exception) as want:
            case(torch)
        with pytest.raises(type(want.value)) as got:
            case(tg)
        assert str(got.value) == tg_text(str(want.value))


# --- repr ----------------------------------------------------------------------------------------
def _repr_cases():
    rng = np.random.default_rng(0)
    return [
        ("1d", np.array([1.0, 2.0, 3.0])), ("0d", np.array(2.5)), ("0d_int", np.array(5)), ("0d_bool", np.array(True)),
        ("empty", np.array([])), ("empty_2d", np.zeros((0, 3))), ("empty_3d", np.ones((2, 0, 3))),
        ("2d", rng.standard_normal((3, 4))), ("3d", rng.standard_normal((2, 3, 4))),
        ("summarized_1d", rng.standard_normal(1001)), ("summarized_2d", rng.standard_normal((40, 40))),
        ("summarized_3d", rng.standard_normal((3, 50, 20))), ("summarized_int", np.arange(2000).reshape(2, 1000)),
        ("wide_line", rng.standard_normal(30) * 1e3), ("sci_small", np.array([1e-5, 1.0, 3.0])),
        ("sci_large", np.array([1e10, 1.0])), ("sci_ratio", np.array([1.0, 1000.0, 1e5])),
        ("sci_int_big", np.array([123456789.0, 1.0])), ("tiny", np.array(1e-9)), ("tiny2", np.array([1e-9, 2e-9])),
        ("nonfinite", np.array([np.nan, np.inf, -np.inf, 1.5])), ("nan_int", np.array([np.nan, 1.0])),
        ("zeros", np.array([0.0, 0.0])), ("mixed", np.array([-0.5, 100.25])), ("wide_fixed", np.array([0.1, 123456.7])),
        ("int", np.array([1, 2, 3])), ("int_neg", np.array([[1, -200], [30000, 4]])),
        ("int_2d", rng.integers(-1000, 1000, size=(50, 30))), ("bool", np.array([True, False])),
        ("awkward", rng.standard_normal((3, 1, 17))),
    ]


@pytest.mark.parametrize("name, a", _repr_cases(), ids=[c[0] for c in _repr_cases()])
@pytest.mark.parametrize("dtype, requires_grad", [(None, False), (None, True), ("float64", False), ("float64", True),
                                                  ("float16", False), ("float16", True), ("int32", False)])
def test_repr_matches_pytorch(name, a, dtype, requires_grad, torch):
    if requires_grad and (a.dtype.kind != "f" and dtype is None):
        requires_grad = False  # NOTE: integer and bool tensors cannot require grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NOTE: nan/inf cast to int
        want = torch.tensor(a, dtype=getattr(torch, dtype) if dtype else None, requires_grad=requires_grad)
        got = tg.tensor(a, dtype=getattr(tg, dtype) if dtype else None, requires_grad=requires_grad)
    assert same_suffix_breaks(repr(got)) == same_suffix_breaks(tg_text(repr(want)))


@pytest.mark.parametrize("expr", [
    lambda L, x: x * 2, lambda L, x: x.sum(), lambda L, x: x.mean(), lambda L, x: x.sigmoid(),
    lambda L, x: (x * x).t(), lambda L, x: x[0], lambda L, x: x.double(), lambda L, x: x.max(1).values,
    lambda L, x: L.ones(3, 2, dtype=L.float64) @ x.double(), lambda L, x: x.exp().reshape(6)[1:],
])
def test_repr_with_grad_fn_matches_pytorch(expr, torch, rng):
    a = rng.standard_normal((2, 3))
    want = expr(torch, torch.tensor(a, dtype=torch.float32, requires_grad=True))
    got = expr(tg, tg.tensor(a, dtype=tg.float32, requires_grad=True))
    assert same_suffix_breaks(repr(got)) == same_suffix_breaks(tg_text(repr(want)))


def test_repr_exact_strings():
    assert repr(tg.tensor([1.0, 2.0, 3.0], requires_grad=True)) == "tensor([1., 2., 3.], requires_grad=True)"
    assert repr(tg.tensor(25.0, requires_grad=True).mul(1)) == "tensor(25., grad_fn=<MulBackward0>)"
    assert repr(tg.tensor([1, 2], dtype=tg.int32)) == "tensor([1, 2], dtype=tritongrad.int32)"
    assert repr(tg.tensor([], dtype=tg.float64)) == "tensor([], dtype=tritongrad.float64)"
    assert repr(tg.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(tg.tensor([[1.5, -2.0], [3.0, 4.25]])) == "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.2500]])"
    assert repr(tg.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert str(tg.tensor([True, False])) == "tensor([ True, False])"


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_repr_cuda_device_suffix():
    device = "cuda"
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    assert repr(x) == "tensor([1., 2., 3.], device='cuda:0')"
    y = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    assert repr(y) == "tensor([1., 2.], device='cuda:0', dtype=tritongrad.float64, requires_grad=True)"
    assert repr(y.sum()) == "tensor(3., device='cuda:0', dtype=tritongrad.float64, grad_fn=<SumBackward0>)"
    assert repr(tg.zeros(0, device=device)) == "tensor([], device='cuda:0')"


def test_set_printoptions_precision(torch):
    a = [1.123456789, -2.5]
    try:
        for L in (torch, tg):
            L.set_printoptions(precision=2)
        assert repr(tg.tensor(a)) == tg_text(repr(torch.tensor(a, dtype=torch.float32))) == "tensor([ 1.12, -2.50])"
    finally:
        for L in (torch, tg):
            L.set_printoptions(profile="default")
    assert repr(tg.tensor(a)) == "tensor([ 1.1235, -2.5000])"


def test_bfloat16_on_the_cpu_is_refused_clearly():
    for make in (lambda: tg.tensor([1.5], dtype=tg.bfloat16), lambda: tg.ones(2).to(tg.bfloat16),
                 lambda: tg.zeros(2, dtype=tg.bfloat16), lambda: tg.ones(2).bfloat16()):
        with pytest.raises(TypeError, match="bfloat16 tensors are supported on CUDA only"):
            make()


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_bfloat16_on_cuda_matches_pytorch(torch, rng):
    a = rng.standard_normal((3, 5)) * 7
    x = tg.tensor(a, dtype=tg.bfloat16, device="cuda")
    want = torch.tensor(a, dtype=torch.bfloat16)
    assert x.dtype is tg.bfloat16 and x.element_size() == 2
    np.testing.assert_array_equal(x.float().cpu().numpy(), want.float().numpy())
    assert x.tolist() == want.tolist()
    want_repr = same_suffix_breaks(tg_text(repr(want))).replace(", dtype=", ", device='cuda:0', dtype=", 1)
    assert same_suffix_breaks(repr(x)) == want_repr
