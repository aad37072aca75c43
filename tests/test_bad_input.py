"""Bad and edge inputs of issue 19 section 2, each compared with PyTorch on both devices: masked
(-inf) logits and all-ignored targets in cross_entropy / nll_loss, clamp_ with tensor bounds that
require grad, partial overlap of an in-place op's input and output, crashes where PyTorch returns
(empty mse_loss, zero-class softmax, s ** x for s <= 0, transpose of a 0-d tensor, fill_ of an
expanded tensor, a 0-d CPU operand of a CUDA op), and PyTorch's exception types for bad scalars."""
import math

import numpy as np
import pytest

import tritongrad as tg

PARTIAL = "some elements of the input tensor and the written-to tensor refer to a single memory location"
INTERNAL = "more than one element of the written-to tensor refers to a single memory location"


def _same(a, b, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _run(torch, device, fn):
    """fn(L, device) on tritongrad (the device) and on PyTorch (CPU): both results, as NumPy."""
    out = []
    for L, dev in ((tg, device), (torch, "cpu")):
        out.append([np.asarray(r.detach().cpu().numpy() if hasattr(r, "detach") else r) for r in fn(L, dev)])
    return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_masked_logits_and_ignored_targets(loss, reduction, device, torch, rng):
    logits = rng.standard_normal((5, 7)).astype(np.float32)
    mask = rng.random((5, 7)) < 0.4
    target = rng.integers(0, 7, 5)
    mask[np.arange(5), target] = False  # the target class itself stays finite
    logits[mask] = -np.inf  # masked logits, as a one-hot mask times -inf gives
    for tgt in (target, np.array([3, -100, 1, -100, 0]), np.full(5, -100)):
        def fn(L, dev, tgt=tgt):
            x = L.tensor(logits if loss == "cross_entropy" else np.log(np.exp(logits) / np.exp(logits).sum(1,
                         keepdims=True)), device=dev, requires_grad=True)
            out = getattr(L.nn.functional, loss)(x, L.tensor(tgt, device=dev), reduction=reduction)
            out.sum().backward()
            return out, x.grad
        (ours, ours_g), (theirs, theirs_g) = _run(torch, device, fn)
        assert _same(ours, theirs) and _same(ours_g, theirs_g)
        assert not np.isnan(ours_g).any()  # PyTorch's gradient has no NaN here


@pytest.mark.parametrize("kind", ["min", "max", "both", "min_method"])
def test_clamp_inplace_tensor_bound_records_history(kind, device, torch, rng):
    x0, lo0, hi0 = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    res = []
    for L, dev in ((tg, device), (torch, "cpu")):
        x = L.tensor(x0, device=dev)
        lo = L.tensor(lo0, device=dev, requires_grad=True)
        hi = L.tensor(hi0, device=dev, requires_grad=True)
        if kind == "min":
            x.clamp_(min=lo)
        elif kind == "max":
            x.clamp_(max=hi)
        elif kind == "both":
            x.clamp_(lo, hi)
        else:
            x.clamp_min_(lo)
        assert x.grad_fn is not None and x.requires_grad
        (x * L.tensor(np.arange(12.0).reshape(3, 4), device=dev)).sum().backward()
        res.append((type(x.grad_fn).__name__ if L is tg else x.grad_fn.name(), x.detach().cpu().numpy(),
                    None if lo.grad is None else lo.grad.cpu().numpy(),
                    None if hi.grad is None else hi.grad.cpu().numpy()))
    (n1, x1, l1, h1), (n2, x2, l2, h2) = res
    assert n1 == n2 and _same(x1, x2)
    assert (l1 is None) == (l2 is None) and (l1 is None or _same(l1, l2))
    assert (h1 is None) == (h2 is None) and (h1 is None or _same(h1, h2))


OVERLAP_CASES = {  # name -> (the in-place call on x (arange(1, 7)), PyTorch's outcome); checked against PyTorch below
    "add_shifted": lambda x: x[1:].add_(x[:-1]),
    "sub_alpha": lambda x: x[2:].sub_(x[:-2], alpha=2),
    "mul_transposed": lambda x: x[:4].view(2, 2).mul_(x[:4].view(2, 2).t()),
    "copy_transposed": lambda x: x[:4].view(2, 2).copy_(x[:4].view(2, 2).t()),
    "setitem_shifted": lambda x: x.__setitem__(slice(1, None), x[:-1]),
    "clamp_tensor_bound": lambda x: x[:4].view(2, 2).clamp_(min=x[:4].view(2, 2).t()),
    "pow_detached": lambda x: x[1:].pow_(x.detach()[:-1]),
    "other_strides": lambda x: x.view(1, 6).add_(x.view(6)),
    "exact": lambda x: x.add_(x),
    "same_memory_same_strides": lambda x: x.add_(x.view(1, 6)[0]),
    "interleaved": lambda x: x[::2].add_(x[1::2]),  # not dense: PyTorch does not check it
    "disjoint": lambda x: x.__setitem__(slice(3, None), x[:3]),
    "fill_from_element": lambda x: x[1:].fill_(x[0]),
}


@pytest.mark.parametrize("name", sorted(OVERLAP_CASES))
def test_partial_overlap(name, device, torch):
    res = []
    for L, dev in ((tg, device), (torch, "cpu")):
        x = L.arange(1.0, 7.0, device=dev)
        try:
            OVERLAP_CASES[name](x)
            res.append(("ok", x.tolist(), x._version))
        except RuntimeError as e:
            assert PARTIAL in str(e)
            res.append(("raised", x.tolist(), x._version))  # nothing written, no version bump
    assert res[0] == res[1]


def _write_expanded(op, L, x, dev):
    if op == "fill_":
        x.fill_(4.0)
    elif op == "zero_":
        x.zero_()
    elif op == "setitem_row":
        x[0] = 5.0
    elif op == "add_":
        x.add_(1.0)
    elif op == "copy_":
        x.copy_(L.ones(2, 3, device=dev))
    else:
        x.fill_(L.tensor(3.0, device=dev))


@pytest.mark.parametrize("op", ["fill_", "zero_", "setitem_row", "add_", "copy_", "fill_tensor"])
def test_write_to_expanded(op, device, torch):
    res = []
    for L, dev in ((tg, device), (torch, "cpu")):
        base = L.tensor([[1.0], [2.0]], device=dev)
        x = base.expand(2, 3)
        try:
            _write_expanded(op, L, x, dev)
            res.append(("ok", x.tolist(), base.tolist()))
        except RuntimeError as e:
            assert INTERNAL in str(e)
            res.append(("raised", x.tolist(), base.tolist()))
    assert res[0] == res[1]


@pytest.mark.parametrize("base", [-2.0, -1.0, 0.0, -0.0, 2.5, math.inf, -math.inf, math.nan])
def test_scalar_base_pow_backward(base, device, torch):
    x0 = np.array([1.0, 2.0, 0.5, 0.0, -1.0, -2.5, np.nan])

    def fn(L, dev):
        x = L.tensor(x0, device=dev, requires_grad=True)
        y = base ** x
        y.sum().backward()
        v = y.detach().cpu().numpy()
        return y, x.grad, np.signbit(v[~np.isnan(v)])  # -0.0 and -inf keep their sign

    (y1, g1, s1), (y2, g2, s2) = _run(torch, device, fn)
    assert _same(y1, y2) and _same(g1, g2) and (s1 == s2).all()


@pytest.mark.parametrize("shape, dim", [((3, 0), 1), ((0,), 0), ((0, 4), 1), ((2, 0, 3), 1), ((0, 4), 0)])
@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
def test_softmax_zero_classes(fn_name, shape, dim, device, torch):
    def fn(L, dev):
        x = L.ones(shape, device=dev, requires_grad=True)
        y = getattr(L.nn.functional, fn_name)(x, dim)
        y.sum().backward()
        return y, x.grad

    (y1, g1), (y2, g2) = _run(torch, device, fn)
    assert y1.shape == y2.shape and g1.shape == g2.shape


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_empty(reduction, device, torch):
    def fn(L, dev):
        a = L.ones((0, 3), device=dev, requires_grad=True)
        loss = L.nn.functional.mse_loss(a, L.zeros((0, 3), device=dev), reduction=reduction)
        loss.sum().backward()
        return loss, a.grad

    (l1, g1), (l2, g2) = _run(torch, device, fn)
    assert _same(l1, l2) and g1.shape == g2.shape == (0, 3)


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_cross_entropy_probabilities_no_rows_or_classes(shape, device, torch):
    def fn(L, dev):
        x = L.ones(shape, device=dev, requires_grad=True)
        loss = L.nn.functional.cross_entropy(x, L.ones(shape, device=dev))
        loss.backward()
        return loss, x.grad

    (l1, g1), (l2, g2) = _run(torch, device, fn)
    assert _same(l1, l2) and g1.shape == g2.shape


def test_transpose_0d(device, torch):
    def fn(L, dev):
        x = L.tensor(3.0, device=dev, requires_grad=True)
        y, z = x.transpose(0, 0), x.transpose(-1, 0)
        (y * z).backward()
        return y, z, x.grad

    assert all(_same(a, b) for a, b in zip(*_run(torch, device, fn)))


def test_flip_erf_gelu_0d(device, torch):
    def fn(L, dev):
        x = L.tensor(0.7, device=dev, requires_grad=True)
        y, e, g = x.flip(-1), x.erf(), L.nn.functional.gelu(x)
        (y * e * g).backward()
        return y, e, g, x.grad

    assert all(_same(a, b) for a, b in zip(*_run(torch, device, fn)))


@pytest.mark.parametrize("op", ["mul", "radd", "sub", "div", "pow", "gt", "maximum", "where", "add_", "mul_", "clamp"])
def test_cpu_scalar_tensor_joins_cuda(op):
    if not tg.cuda.is_available():
        pytest.skip("needs CUDA (real or TRITONGRAD_EMULATE_CUDA=1)")
    x = tg.tensor([0.5, 1.5, 2.5], device="cuda", requires_grad=op[-1] != "_")
    s = tg.tensor(2.0, requires_grad=op[-1] != "_")  # on the CPU: PyTorch takes it as a scalar
    calls = {"mul": lambda: x * s, "radd": lambda: s + x, "sub": lambda: x - s, "div": lambda: s / x,
             "pow": lambda: x ** s, "gt": lambda: x > s, "maximum": lambda: tg.maximum(x, s),
             "where": lambda: tg.where(x > 0, x, s), "add_": lambda: x.add_(s), "mul_": lambda: x.mul_(s),
             "clamp": lambda: x.clamp(s)}
    ref = {"mul": lambda a, b: a * b, "radd": lambda a, b: b + a, "sub": lambda a, b: a - b,
           "div": lambda a, b: b / a, "pow": lambda a, b: a ** b, "gt": lambda a, b: a > b,
           "maximum": np.maximum, "where": lambda a, b: np.where(a > 0, a, b), "add_": lambda a, b: a + b,
           "mul_": lambda a, b: a * b, "clamp": np.maximum}[op]
    expected = ref(np.array([0.5, 1.5, 2.5], np.float32), np.float32(2.0))
    y = calls[op]()
    assert y.device.type == "cuda" and _same(y.detach().cpu().numpy(), expected)
    if y.requires_grad:
        y.sum().backward()
        assert s.grad is not None and s.grad.device.type == "cpu" and np.isfinite(s.grad.item())
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        x + tg.ones(3)  # a CPU tensor with dims is not a scalar
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tg.tensor(1.0).add_(tg.tensor(1.0, device="cuda"))  # nor is a CUDA tensor written into a CPU one


BAD_SCALARS = [  # (call on x = ones(3) of the library L, ...): PyTorch's exception type and message
    lambda L, x: x.add(x, alpha="a"),
    lambda L, x: x.add_(x, alpha="a"),
    lambda L, x: x.sub(x, alpha=None),
    lambda L, x: x.add(x, alpha=1j),
    lambda L, x: x.add(x, alpha=False),
    lambda L, x: x.fill_("a"),
    lambda L, x: x.fill_(None),
    lambda L, x: x.fill_(1j),
    lambda L, x: x.long().fill_(1j),
    lambda L, x: x.div_(1j),
    lambda L, x: x.mul_(1j),
    lambda L, x: x.double().add_(1j),
    lambda L, x: x.long().add_(1j),
    lambda L, x: x.add_("a"),
    lambda L, x: x.logical_and(L.ones(2)),
    lambda L, x: L.nn.functional.cross_entropy(x, L.tensor(0), weight=L.ones(())),
    lambda L, x: L.ones(2, 0).argmax(),
    lambda L, x: L.ones(2, 0).argmin(1),
    lambda L, x: L.sin(2.0),
    lambda L, x: x.sum().split(1),
    lambda L, x: L.split(x.sum(), [2, 3]),
    lambda L, x: x.sum().chunk(0),
    lambda L, x: L.flatten(x.sum(), 1, 0),
]


@pytest.mark.parametrize("case", range(len(BAD_SCALARS)))
def test_bad_scalars_raise_as_pytorch(case, torch):
    errors = []
    for L in (tg, torch):
        x = L.ones(3)
        with pytest.raises(Exception) as info:
            BAD_SCALARS[case](L, x)
        assert x.tolist() == [1.0, 1.0, 1.0] and x._version == 0
        errors.append(info.value)
    ours, theirs = errors
    assert type(ours).__name__ == type(theirs).__name__ and str(ours).split("\n")[0] == str(theirs).split("\n")[0]


def test_integer_pow_in_place_to_a_negative_power_raises_before_writing(device, torch):
    """PyTorch refuses `int_tensor.pow_(-n)`; the tensor is unchanged (it used to become zeros)."""
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([2, 3, -1, 1]).pow_(-2)
    a = tg.tensor([2, 3, -1, 1], device=device)
    with pytest.raises(RuntimeError) as ours:
        a.pow_(-2)
    assert str(ours.value) == str(theirs.value) == "Integers to negative integer powers are not allowed."
    assert a.tolist() == [2, 3, -1, 1] and a._version == 0
