"""Kernel launches per call of the indexing and joining ops on CUDA (issue 15: no op adds a launch
where PyTorch uses one). Counted through Triton's interpreter (emulated CUDA), where every launch
passes InterpretedFunction.run; the wrappers that decide the launches are the same on a real GPU.

PyTorch's counts: x[idx], index_select, embedding and gather are one index kernel (the bounds check
is a device assert inside it); cat and stack one CatArrayBatchedCopy; masked_fill out of place a
clone and the masked fill; the out-of-place scatters (scatter, index_add, index_put, ...) a clone and
the scatter.
"""
import numpy as np
import pytest

import tritongrad as tg


def _interpreted():
    if not tg.cuda.is_available():
        return False
    from tritongrad.kernels import _utils as U
    return U.INTERPRET


pytestmark = pytest.mark.skipif(not _interpreted(),
                                reason="counts launches through Triton's interpreter (TRITONGRAD_EMULATE_CUDA=1)")


@pytest.fixture
def launches(monkeypatch):
    from triton.runtime.interpreter import InterpretedFunction
    names, run = [], InterpretedFunction.run

    def counted(self, *args, **kwargs):
        names.append(self.fn.__name__)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(InterpretedFunction, "run", counted)
    return names


def _count(launches, fn):
    fn()  # NOTE: the first call may fill caches (a plan, an allocation pool); count the second
    launches.clear()
    fn()
    return list(launches)


W = dict(device="cuda")
CASES = {
    "x[idx]": (lambda x, i, m, W, ids, a: x[i], 1),
    "x[idx, :2]": (lambda x, i, m, W, ids, a: x[i, :2], 1),
    "index_select": (lambda x, i, m, W, ids, a: x.index_select(0, ids.reshape(-1)), 1),
    "gather": (lambda x, i, m, W, ids, a: x.t().gather(1, ids[:4, :3]), 1),
    "embedding": (lambda x, i, m, W, ids, a: tg.nn.functional.embedding(ids, W), 1),
    "C[X]": (lambda x, i, m, W, ids, a: W[ids], 1),
    "cat": (lambda x, i, m, W, ids, a: tg.cat(a), 1),
    "stack": (lambda x, i, m, W, ids, a: tg.stack(a), 1),
    "masked_fill": (lambda x, i, m, W, ids, a: x.masked_fill(m, 0.5), 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_forward_launches(launches, case):
    fn, expected = CASES[case]
    x = tg.randn(50, 10, **W)
    i = tg.randint(-50, 50, (32, 3), **W)
    m = x > 0
    Wt = tg.randn(50, 8, **W)
    ids = tg.randint(0, 50, (4, 5), **W)
    a = [tg.randn(3, 16, 8, **W) for _ in range(3)]
    got = _count(launches, lambda: fn(x, i, m, Wt, ids, a))
    assert len(got) == expected, got


def test_fused_check_still_raises_first_bad_index(launches):
    """The bounds check rides on the gather: PyTorch's error names the first bad index in index order."""
    x = tg.randn(5, 4, **W)
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 5"):
        x[tg.tensor([[1, 2], [7, -9]], **W)]
    with pytest.raises(IndexError, match="index -9 is out of bounds for dimension 0 with size 5"):
        x[tg.tensor([[1, 2], [-9, 7]], **W)]
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(1, tg.tensor([0, 4, 5], **W))
    with pytest.raises(RuntimeError, match="index 6 is out of bounds for dimension 1 with size 4"):
        x.gather(1, tg.tensor([[0, 1], [3, 6], [8, 0], [0, 0], [1, 1]], **W))
    assert launches.count("first_bad_kernel") == 0


SCATTERS = {  # out of place: a copy, then the write with its bounds check inside (PyTorch: clone + scatter)
    "scatter": (lambda x, ids, v: x.scatter(0, ids, v), 2),
    "scatter_add": (lambda x, ids, v: x.scatter_add(0, ids, v), 2),
    "index_add": (lambda x, ids, v: x.index_add(0, ids.reshape(-1), v), 2),
    "index_copy": (lambda x, ids, v: x.index_copy(0, ids.reshape(-1), v), 2),
    "index_put": (lambda x, ids, v: x.index_put((ids.reshape(-1),), v), 2),
    "index_put_accumulate": (lambda x, ids, v: x.index_put((ids.reshape(-1),), v, accumulate=True), 2),
    # in place: one all-or-nothing write (every program reads every index before writing), as PyTorch's one
    "x[idx] = v": (lambda x, ids, v: x.__setitem__(ids.reshape(-1), v), 1),
    "x[idx] += v": (lambda x, ids, v: x.index_put_((ids.reshape(-1),), v, accumulate=True), 1),
    "scatter_": (lambda x, ids, v: x.scatter_(0, ids, v), 1),
    "index_add_": (lambda x, ids, v: x.index_add_(0, ids.reshape(-1), v), 1),
    "index_add_ strided index": (lambda x, ids, v: x.index_add_(0, ids.reshape(-1)[::2], v[:10]), 1),
}


@pytest.mark.parametrize("case", list(SCATTERS))
def test_scatter_launches(launches, case):
    fn, expected = SCATTERS[case]
    x, v = tg.randn(50, 8, **W), tg.randn(20, 8, **W)
    ids = tg.randperm(50, **W)[:20].reshape(4, 5)
    got = _count(launches, lambda: fn(x, ids, v.reshape(4, 5, 8)[..., 0] if case.startswith("scatter") else v))
    assert len(got) == expected, got


@pytest.mark.parametrize("case", ["scatter", "index_add", "index_put", "index_put_accumulate"])
def test_checked_write_raises_first_bad_index_and_returns_nothing(launches, torch, case):
    """The out-of-place scatters check inside their write: PyTorch's error for the first bad index (in
    index order), and the input is left as it was."""
    fn, _ = SCATTERS[case]
    rng = np.random.default_rng(5)
    data, vals = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    x, v = tg.tensor(data, **W), tg.tensor(vals, **W)
    bad = [[1, 9], [-8, 2]] if case == "scatter" else [[1, 9], [7, 2]]
    ids = tg.tensor(bad, **W)
    val = v[:, :2] if case == "scatter" else tg.tensor(rng.standard_normal((4, 3)), **W)
    with pytest.raises((IndexError, RuntimeError)) as got:
        fn(x, ids, val)
    tx = torch.tensor(data)
    with pytest.raises((IndexError, RuntimeError)) as want:
        fn(tx, torch.tensor(bad), torch.tensor(val.cpu().numpy()))
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)
    assert (x.cpu().numpy() == data).all() and x._version == 0
    assert launches.count("first_bad_kernel") == 0


@pytest.mark.parametrize("case", ["x[idx] = v", "scatter_", "index_add_"])
def test_in_place_scatter_past_the_scan_budget_checks_first(launches, monkeypatch, case):
    """More index reads than SCAN_BUDGET (programs x indices), or an index that can't be walked flat: the
    check's own launch, then the write (kernels/index.py's _bounds)."""
    from tritongrad.kernels import index as IX

    monkeypatch.setattr(IX, "SCAN_BUDGET", 0)
    fn, _ = SCATTERS[case]
    x, v = tg.randn(50, 8, **W), tg.randn(20, 8, **W)
    ids = tg.randperm(50, **W)[:20].reshape(4, 5)
    got = _count(launches, lambda: fn(x, ids, v.reshape(4, 5, 8)[..., 0] if case.startswith("scatter") else v))
    assert got == ["first_bad_kernel", "scatter_kernel"], got


@pytest.mark.parametrize("case", ["x[idx] = v", "x[idx] += v", "scatter_", "index_add_"])
def test_all_or_nothing_write_raises_first_bad_index_and_writes_nothing(launches, torch, case):
    """The in-place scatters' single launch: PyTorch's error for the first bad index (in index order),
    and not one element written, although most indices are in range."""
    fn, _ = SCATTERS[case]
    rng = np.random.default_rng(6)
    data = rng.standard_normal((6, 3))
    bad = [[1, 9], [-8, 2]] if case == "scatter_" else [[1, 2, 0, 9], [-8, 3, 4, 5]]
    errors = []
    for M, dev in ((tg, "cuda"), (torch, "cpu")):
        x = M.tensor(data, device=dev)
        vals = M.tensor(rng.standard_normal((2, 2) if case == "scatter_" else (8, 3)), device=dev)
        with pytest.raises((IndexError, RuntimeError)) as e:
            fn(x, M.tensor(bad, device=dev), vals)
        errors.append(e.value)
        if M is tg:
            assert (x.cpu().numpy() == data).all() and x._version == 0
    assert type(errors[0]) is type(errors[1]) and str(errors[0]) == str(errors[1])
    assert launches.count("first_bad_kernel") == 0


def test_scatter_with_a_strided_nd_index_checks_first(launches):
    """A scatter_ index that is neither 1-d nor contiguous cannot be walked flat: the check's launch first."""
    x, src = tg.randn(50, 8, **W), tg.randn(5, 4, **W)
    ids = tg.randperm(50, **W)[:20].reshape(4, 5).t()
    got = _count(launches, lambda: x.scatter_(0, ids, src))
    assert got[-2:] == ["first_bad_kernel", "scatter_kernel"], got
