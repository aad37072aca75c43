"""CUDA sort / argsort / topk on rows longer than one register sort (kernels/sort.py's merge passes)
and randperm of any length, against PyTorch (CPU) and NumPy: values, indices (stable order),
ties, NaN, -0.0, descending, dims other than the last, dtypes, empty shapes, gradients.
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_sort.py
"""
import numpy as np
import pytest

import tritongrad as tg
import tritongrad.cuda

pytestmark = pytest.mark.skipif(not tritongrad.cuda.is_available(), reason="no CUDA device (or emulation)")

RNG = np.random.default_rng(15)


def _data(shape, dtype):
    """Fresh random values of `shape` with ties; floats also hold NaN, -0.0 and +0.0."""
    if np.dtype(dtype).kind == "f":
        x = RNG.standard_normal(shape).astype(dtype)
        flat = x.reshape(-1)
        pick = RNG.choice(flat.size, 12, replace=False)
        flat[pick[:3]], flat[pick[3:6]], flat[pick[6:9]] = np.nan, -0.0, 0.0
        flat[pick[9:]] = flat[pick[0] - 1]  # NOTE: ties beyond the zeros
        flat[: flat.size // 4] = np.round(flat[: flat.size // 4], 1)  # NOTE: many ties in the first quarter
    elif dtype == np.bool_:
        x = RNG.random(shape) < 0.5
    else:
        x = RNG.integers(0, 20, shape).astype(dtype)  # NOTE: rows of thousands: every value repeats
    return x


def _same(got, want):
    got, want = got.cpu().numpy(), want.numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# (shape, dim, dtype, extra): rows of more than 1024 elements (the register sort's old limit), several
# merge passes, short last runs (1025, 3000), left runs with no right run (1300 = 5 chunks of 256);
# inner strides 1, 3 and 2; a float dtype of each width, integers, bool; besides both sorts, an argsort
# or a topk (largest k = 7, or smallest k = n - 2)
CASES = [((1025,), 0, "float32", "argsort"), ((3, 3000), 1, "float64", "largest"),
         ((5000, 3), 0, "float32", "smallest"), ((2, 1100, 2), 1, "float16", "largest"),
         ((2, 2100), -1, "int64", "smallest"), ((1300, 2), 0, "int32", "largest"), ((1030,), 0, "uint8", "argsort"),
         ((2, 1200), 1, "bool", "argsort"),  # NOTE: PyTorch's CPU topk takes no bool
         ((5, 700), 1, "float64", "smallest")]  # NOTE: rows the register sort took whole before


@pytest.mark.parametrize("shape,dim,dtype,extra", CASES, ids=lambda c: str(c))
def test_long_rows_match_pytorch(torch, shape, dim, dtype, extra):
    x = _data(shape, np.dtype(dtype))
    a, b = tg.tensor(x, device="cuda"), torch.tensor(x)
    for descending in (False, True):
        ours, theirs = a.sort(dim, descending, stable=True), b.sort(dim=dim, descending=descending, stable=True)
        _same(ours.values, theirs.values)
        _same(ours.indices, theirs.indices)
    if extra == "argsort":
        _same(tg.argsort(a, dim, True), torch.argsort(b, dim=dim, descending=True, stable=True))
        return
    largest = extra == "largest"
    k = 7 if largest else shape[dim] - 2
    ours, theirs = a.topk(k, dim, largest), b.topk(k, dim, largest)
    _same(ours.values, theirs.values)  # NOTE: PyTorch's topk orders ties as it likes: the indices name the values
    np.testing.assert_array_equal(np.take_along_axis(x, ours.indices.cpu().numpy(), dim), theirs.values.numpy())
    stable = b.sort(dim=dim, descending=largest, stable=True).indices.numpy()
    np.testing.assert_array_equal(ours.indices.cpu().numpy(), np.take(stable, range(k), dim))  # NOTE: ours: cut


def test_bfloat16_long_rows(torch):
    x = _data((2, 1100), np.float32)
    a, b = tg.tensor(x, device="cuda").to(tg.bfloat16), torch.tensor(x).to(torch.bfloat16)  # NOTE: more ties
    ours, theirs = a.sort(descending=True, stable=True), b.sort(descending=True, stable=True)
    _same(ours.indices, theirs.indices)
    _same(ours.values.float(), theirs.values.float())


def test_gradients_through_long_sort_and_topk(torch):
    x = RNG.standard_normal((2, 1500))
    for fn in (lambda t: t.sort(1, descending=True).values, lambda t: t.topk(5).values,
               lambda t: t.t().sort(dim=0, stable=True).values, lambda t: t.topk(1400, largest=False).values):
        a, b = tg.tensor(x, device="cuda", requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, theirs = fn(a), fn(b)
        assert ours.grad_fn.name() == theirs.grad_fn.name()
        w = RNG.standard_normal(tuple(theirs.shape))
        (ours * tg.tensor(w, device="cuda")).sum().backward()
        (theirs * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(ours.detach().cpu().numpy(), theirs.detach().numpy())
        np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.numpy())


def test_empty_and_non_contiguous(torch):
    for shape, dim in (((0, 2000), 1), ((2000, 0), 0), ((3, 0, 1500), 2)):
        v, i = tg.zeros(shape, device="cuda").sort(dim)
        assert v.shape == i.shape == shape and i.dtype == tg.int64
        assert tg.zeros(shape, device="cuda").topk(0, dim).values.shape == torch.zeros(shape).topk(0, dim).values.shape
    x = _data((1100, 6), np.float32)
    a = tg.tensor(x, device="cuda")[:, ::2].t()  # NOTE: strided, made contiguous first
    b = torch.tensor(x)[:, ::2].t()
    _same(a.sort(stable=True).indices, b.sort(stable=True).indices)
    _same(a.sort(stable=True).values, b.sort(stable=True).values)


@pytest.mark.parametrize("n", [1, 9, 100, 1000])
def test_many_merge_passes(monkeypatch, n):
    """With register sorts of 8 elements, rows of up to 1000 take up to 7 merge passes; topk's passes
    keep the first k of each run."""
    from tritongrad.kernels import sort as SORT  # NOTE: here: the module needs the CUDA backend

    monkeypatch.setattr(SORT, "BLOCK_SORT", 8)
    x = np.concatenate([RNG.integers(-3, 4, (1, n)), RNG.standard_normal((1, n)) * 1e300], 0)  # ties, then none
    a = tg.tensor(x, device="cuda")
    for descending in (False, True):
        v, i = a.sort(1, descending)
        want = np.argsort(-x if descending else x, 1, kind="stable")
        np.testing.assert_array_equal(i.cpu().numpy(), want)
        np.testing.assert_array_equal(v.cpu().numpy(), np.take_along_axis(x, want, 1))
    for k in {min(n, 3), n // 3}:  # NOTE: shorter and longer than a register sort: runs cut at k or not
        v, i = a.topk(k, largest=False)
        np.testing.assert_array_equal(i.cpu().numpy(), np.argsort(x, 1, kind="stable")[:, :k])
        np.testing.assert_array_equal(v.cpu().numpy(), np.sort(x, 1)[:, :k])
        np.testing.assert_array_equal(a.topk(k).indices.cpu().numpy(), np.argsort(-x, 1, kind="stable")[:, :k])


def test_randperm_any_length():
    n = 70000  # NOTE: more than the 65536 of one sorting program
    p = tg.randperm(n, device="cuda", generator=tg.Generator("cuda").manual_seed(11)).cpu().numpy()
    assert p.dtype == np.int64 and np.array_equal(np.sort(p), np.arange(n)) and (p != np.arange(n)).mean() > 0.99
    again = tg.randperm(n, device="cuda", generator=tg.Generator("cuda").manual_seed(11)).cpu().numpy()
    np.testing.assert_array_equal(again, p)
    g = tg.Generator("cuda").manual_seed(11)
    q = tg.randperm(2000, device="cuda", generator=g).cpu().numpy()
    assert (q != tg.randperm(2000, device="cuda", generator=g).cpu().numpy()).mean() > 0.99  # the generator moved on
    tg.cuda.manual_seed(3)  # the default generator: seeded, reproducible
    r = tg.randperm(1500, device="cuda").cpu().numpy()
    tg.cuda.manual_seed(3)
    np.testing.assert_array_equal(tg.randperm(1500, device="cuda").cpu().numpy(), r)
    assert np.array_equal(np.sort(r), np.arange(1500))
    # a uniform permutation: each element's place spreads evenly (mean (n - 1) / 2, not index order)
    assert abs(p[: n // 2].mean() - (n - 1) / 2) < 0.01 * n
    assert tg.randperm(0, device="cuda").shape == (0,)
