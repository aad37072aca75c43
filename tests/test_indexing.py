"""Advanced indexing, gathers and scatters, joining and splitting (ops/index.py, advanced.py, join.py)
against PyTorch (values, gradients, grad_fn names, errors) and float64 finite differences, on both
devices. Each case is one program written once for either module (`M` is tritongrad or torch)."""
import numpy as np
import pytest

import tritongrad as tg


def T(M, x, data):
    """An index tensor (or mask) on x's device."""
    return M.tensor(data, device=x.device)


def _set(M, x, idx, v, acc=None):
    y = x * 1
    if acc is None:
        y[idx(M, y)] = v
    else:
        y.index_put_(idx(M, y), v, accumulate=acc)
    return y


def _iadd(y, idx, v):
    y[idx] += v  # NOTE: y[idx] = y[idx] + v, as in PyTorch
    return y


# name -> (input shapes, program(M, *inputs)); small shapes (finite differences run on each)
CASES = {
    "list": ([(5, 7)], lambda M, x: x[[0, 4, -1, 0]]),
    "tensor_2d": ([(5, 7)], lambda M, x: x[T(M, x, [[1, -2], [0, 0]])]),
    "slice_tensor_slice": ([(5, 7, 3)], lambda M, x: x[1:, T(M, x, [0, 6, 6]), ::2]),
    "adjacent_pair": ([(5, 7, 3)], lambda M, x: x[:, T(M, x, [[0], [6]]), T(M, x, [1, 2, -1])]),
    "apart_pair": ([(5, 7, 3)], lambda M, x: x[T(M, x, [0, 4, 0]), :, T(M, x, [2, 1, 2])]),
    "int_then_tensor": ([(5, 7, 3)], lambda M, x: x[1, :, T(M, x, [0, 2])]),
    "none_ellipsis": ([(5, 7, 3)], lambda M, x: x[None, ..., T(M, x, [1, 0])]),
    "mask_self": ([(5, 7)], lambda M, x: x[x > 0.3]),
    "mask_rows": ([(5, 7)], lambda M, x: x[T(M, x, [True, False, True, True, False])]),
    "mask_middle": ([(4, 6, 3)], lambda M, x: x[:, T(M, x, [True, False, True, True, False, True])]),
    "mask_and_tensor": ([(4, 6)], lambda M, x: x[T(M, x, [True, False, True, True]), T(M, x, [5, 0, 1])]),
    "bool_scalars": ([(3, 4)], lambda M, x: x[True].sum(0) * 2 + x[None, True][0, 0] + x[0, True]
                     + x[..., False].sum() + x[T(M, x, False)].sum()),
    "getitem_iadd": ([(3, 4)], lambda M, x: _iadd(x * 1, T(M, x, [2, 0]), x[1:] * 2)),
    "index_select": ([(5, 7)], lambda M, x: x.index_select(1, T(M, x, [6, 0, 6, 2])) + 0),
    "gather": ([(5, 7)], lambda M, x: x.gather(1, T(M, x, [[0, 6, 6], [1, 1, 1], [2, 0, 5], [6, 6, 0], [3, 3, 4]]))),
    "take_along_dim": ([(5, 7)], lambda M, x: x.take_along_dim(T(M, x, [[0], [3], [6], [1], [1]]), 1)
                       + x.take_along_dim(T(M, x, [3, 3, 34])).sum()),
    "scatter": ([(5, 7), (2, 7)], lambda M, x, s: x.scatter(0, T(M, x, [[0, 1, 2, 3, 4, 0, 1], [4, 3, 0, 1, 2, 2, 2]]),
                                                            s)),
    "scatter_value": ([(5, 7)], lambda M, x: x.scatter(1, T(M, x, [[0, 6], [1, 1], [2, 5], [6, 0], [3, 4]]), 2.5)),
    "scatter_add": ([(5, 7), (3, 7)], lambda M, x, s: x.scatter_add(0, T(M, x, [[0] * 7, [4] * 7, [0] * 7]), s)),
    "index_add": ([(5, 7), (3, 7)], lambda M, x, s: x.index_add(0, T(M, x, [1, 1, 4]), s, alpha=0.5)),
    "index_copy": ([(5, 7), (2, 7)], lambda M, x, s: x.index_copy(0, T(M, x, [3, 0]), s)),
    "masked_fill": ([(5, 7)], lambda M, x: x.masked_fill(x > 0, 0.5)),
    "masked_fill_tensor": ([(5, 7), ()], lambda M, x, v: x.masked_fill(x[0] > 0, v)),
    "masked_select": ([(5, 7)], lambda M, x: x.masked_select(x[0] > 0)),
    "set_tensor": ([(5, 7), (2, 7)], lambda M, x, v: _set(M, x, lambda M, y: T(M, y, [1, -2]), v)),
    "set_mask_zero": ([(5, 7)], lambda M, x: _set(M, x, lambda M, y: y < 0, 0.0)),
    "set_pair": ([(5, 7), (2,)], lambda M, x, v: _set(M, x, lambda M, y: (T(M, y, [0, 4]), T(M, y, [1, 2])), v)),
    "set_mixed": ([(5, 7, 3), (3,)], lambda M, x, v: _set(M, x, lambda M, y: (slice(1, 3), T(M, y, [0, 6])), v)),
    "put_accumulate": ([(5, 7), (3, 7)], lambda M, x, v: _set(M, x, lambda M, y: (T(M, y, [0, 0, 4]),), v, True)),
    "put_mask": ([(5, 7), (7,)], lambda M, x, v: _set(M, x, lambda M, y: (T(M, y, [True, False, True, False, True]),),
                                                      v, False)),
    "scatter_add_": ([(5, 7), (3, 3)], lambda M, x, s: (x * 1).scatter_add_(1, T(M, x, [[0, 6, 6]] * 3), s)),
    "index_add_": ([(5, 7), (3, 7)], lambda M, x, s: (x * 1).index_add_(0, T(M, x, [2, 2, 2]), s)),
    "masked_fill_": ([(5, 7)], lambda M, x: (x * 1).masked_fill_(x > 0, 1.0)),
    # joining and splitting
    "cat": ([(3, 2), (3, 5)], lambda M, a, b: M.cat([a, b, a], 1)),
    "cat_mixed_dtypes": ([(2, 3)], lambda M, a: M.cat([a, T(M, a, [[1, 2, 3]]), a], 0)),
    "stack": ([(3, 4), (3, 4)], lambda M, a, b: M.stack([a, b, a], -1)),
    "split": ([(3, 7)], lambda M, x: M.cat([t * (i + 1) for i, t in enumerate(x.split(3, 1))], 1)),
    "split_sizes": ([(3, 7)], lambda M, x: M.stack([t.sum(1) for t in x.split([1, 4, 2], 1)])),
    "chunk_unbind": ([(4, 5)], lambda M, x: M.stack(x.chunk(2)[1].unbind(1), 0)),
    "narrow": ([(4, 5)], lambda M, x: x.narrow(1, -3, 2)[1:] * x.narrow(0, 1, 3)[:, :2]),
    "repeat": ([(3, 1, 4)], lambda M, x: x.repeat(2, 1, 3, 1)),
    "tile": ([(3, 2)], lambda M, x: x.tile(2)),
    "flip": ([(3, 4, 2)], lambda M, x: x.flip(0, 2)),
    "roll": ([(3, 4)], lambda M, x: x.roll((2, -1), (0, 1)) + x.roll(5)),
    "tril_triu": ([(2, 5, 4)], lambda M, x: x.tril(-1) + x.triu(2) * 3),
    "diag": ([(5,), (4, 6)], lambda M, v, x: v.diag(-2)[:4, :6] + x.diag(1).sum() + x.t().diag(-1)[:2].sum()),
    "movedim": ([(2, 3, 4)], lambda M, x: x.movedim((0, 2), (1, 0)) * 2),
    "swap_T_mT": ([(2, 3)], lambda M, x: x.swapaxes(0, 1) + x.T * x.mT),
    "as_shapes": ([(2, 3), (3, 2)], lambda M, a, b: a.view_as(b) + a.reshape_as(b) + b[0].expand_as(b)),
}


def _inputs(rng, shapes, M, device):
    arrays = [rng.standard_normal(s) for s in shapes]
    return arrays, [M.tensor(a, dtype=M.float64, device=device, requires_grad=True) for a in arrays]


def _run(M, program, xs, w):
    out = program(M, *xs)
    (out * M.tensor(w, dtype=out.dtype, device=out.device)).sum().backward()
    return out, [x.grad for x in xs]


@pytest.mark.parametrize("case", CASES)
def test_against_pytorch_and_finite_differences(device, case, torch):
    shapes, program = CASES[case]
    rng = np.random.default_rng(list(CASES).index(case))
    arrays, xs = _inputs(rng, shapes, tg, device)
    with torch.no_grad():
        w = rng.standard_normal(tuple(program(torch, *[torch.tensor(a) for a in arrays]).shape))
    out, grads = _run(tg, program, xs, w)
    t_out, t_grads = _run(torch, program, [torch.tensor(a, requires_grad=True) for a in arrays], w)
    assert type(out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    assert out.shape == tuple(t_out.shape) and out.dtype.name == str(t_out.dtype).split(".")[1]
    np.testing.assert_allclose(out.detach().cpu().numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for g, tgrad in zip(grads, t_grads):
        np.testing.assert_allclose(g.cpu().numpy(), tgrad.numpy(), rtol=1e-12, atol=1e-12)
    # float64 central differences of sum(program * w), on the CPU
    eps = 1e-6
    for k, a in enumerate(arrays):
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            vals = []
            for step in (eps, -eps):
                b = [c.copy() for c in arrays]
                b[k][idx] += step
                vals.append(float((program(tg, *[tg.tensor(c) for c in b]).detach().double().numpy() * w).sum()))
            num[idx] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(grads[k].cpu().numpy(), num, rtol=1e-6, atol=1e-7)


def test_awkward_shapes_embedding_lookup_and_masks(device, torch):
    rng = np.random.default_rng(3)
    C = rng.standard_normal((33, 65)).astype(np.float32)
    X = rng.integers(-33, 33, (97, 3))
    for M, dev in ((tg, device), (torch, "cpu")):
        c = M.tensor(C, device=dev, requires_grad=True)
        out = c[M.tensor(X, device=dev)]
        (out * out).sum().backward()
        m = c.detach()[c.detach() > 0.5]
        if M is tg:
            got = (out.detach().cpu().numpy(), c.grad.cpu().numpy(), m.cpu().numpy())
        else:
            want = (out.detach().numpy(), c.grad.numpy(), m.numpy())
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


ERRORS = [
    lambda M, x: x[T(M, x, [5])],
    lambda M, x: x[T(M, x, [-5])],
    lambda M, x: x[:, T(M, x, [9])],
    lambda M, x: x[T(M, x, [1]), T(M, x, [9])],
    lambda M, x: x[T(M, x, [True, False])],
    lambda M, x: x[T(M, x, [1.0])],
    lambda M, x: x[T(M, x, [1]).to(M.int16)],
    lambda M, x: x[[0, 1], [1, 2, 3]],
    lambda M, x: x[T(M, x, [0]), 0, 0],
    lambda M, x: x.index_select(0, T(M, x, [[0]])),
    lambda M, x: x.index_select(0, T(M, x, [3])),
    lambda M, x: x.gather(0, T(M, x, [[5]])),
    lambda M, x: x.scatter(0, T(M, x, [[5]]), x),
    lambda M, x: x.clone().index_add_(0, T(M, x, [5]), x[:1]),
    lambda M, x: x.clone().index_add_(0, T(M, x, [1]), x[:1].double()),
    lambda M, x: x.masked_fill(x, 0),
    lambda M, x: x.masked_fill(x > 0, x[0]),
    lambda M, x: x.masked_fill(M.ones(4, 4, dtype=M.bool, device=x.device), 1),
    lambda M, x: M.cat([x, M.zeros(3, 5, device=x.device)]),
    lambda M, x: M.cat([]),
    lambda M, x: M.cat([x, x[0]]),
    lambda M, x: M.cat([x[0, 0], x]),
    lambda M, x: M.cat([x, x], 2),
    lambda M, x: M.stack([x, x[:, :3]]),
    lambda M, x: M.stack([]),
    lambda M, x: x.narrow(1, 3, 2),
    lambda M, x: x.narrow(1, 1, -1),
    lambda M, x: x.narrow(1, 5, 0),
    lambda M, x: x.split([1, 1]),
    lambda M, x: x.split(0),
    lambda M, x: x.split(-1),
    lambda M, x: x.chunk(0),
    lambda M, x: x.repeat(2),
    lambda M, x: x.repeat(-1, 2),
    lambda M, x: x.flip(0, 0),
    lambda M, x: x.roll((1, 2), (0,)),
    lambda M, x: x[0].tril(),
    lambda M, x: x[None].diag(),
    lambda M, x: x.movedim((0, 1), (0,)),
    lambda M, x: x.movedim((0, 0), (0, 1)),
    lambda M, x: x.clone().index_put_((T(M, x, [1, 2]), None), x[:2].clone()),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_as_pytorch(device, torch, k):
    a = np.random.default_rng(k).standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(Exception) as want:
        ERRORS[k](torch, torch.tensor(a))
    with pytest.raises(want.type, match=None) as got:
        ERRORS[k](tg, tg.tensor(a, device=device))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("how", ["set", "put_acc", "index_copy_", "scatter_", "two"])
def test_out_of_range_writes_nothing(device, how):
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), device=device)
    before = x.cpu().numpy().copy()
    i = tg.tensor([0, 3], device=device)
    ops = {"set": lambda: x.__setitem__(i, 1.0), "put_acc": lambda: x.index_put_((i,), x[:2], accumulate=True),
           "index_copy_": lambda: x.index_copy_(0, i, x[:2].clone()),
           "scatter_": lambda: x.scatter_(0, i[None], x[:1].clone()),
           "two": lambda: x.__setitem__((tg.tensor([0, 1], device=device), tg.tensor([1, 4], device=device)), 2.0)}
    with pytest.raises((IndexError, RuntimeError), match="out of bounds"):
        ops[how]()
    np.testing.assert_array_equal(x.cpu().numpy(), before)


def test_nonzero_where_and_views(device, torch):
    a = np.random.default_rng(1).standard_normal((4, 5, 3)) > 0.2
    x, t = tg.tensor(a, device=device), torch.tensor(a)
    np.testing.assert_array_equal(x.nonzero().cpu().numpy(), t.nonzero().numpy())
    for got, want in zip(tg.where(x), torch.where(t)):
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    assert tg.nonzero(tg.tensor(3.0, device=device), as_tuple=True)[0].tolist() == [0]
    v = tg.ones(4, 5, device=device)
    parts = v.split(2, 1)
    assert parts[0]._base is v and type(parts[0].grad_fn).__name__ == "NoneType"
    assert [p.shape for p in v.unbind(1)] == [(4,)] * 5


def test_inplace_on_a_leaf_raises_before_writing(device):
    x = tg.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[tg.tensor([0], device=device)] = 2.0
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.masked_fill_(x > 0, 0.0)
    assert x.detach().cpu().tolist() == [1.0, 1.0, 1.0]


def _strided_program(M, x, m):
    y = x.clone()
    y[T(M, x, [0, 1]), T(M, x, [2, -1])] = x[0, :2].clone()
    return [x[T(M, x, [0, -1, 2])], x[:, [1, 1]], x[m], M.cat([x, x[:1]]), M.stack([x, x], 1), x.flip(1),
            x.roll(2, 1), x.tril(1), x.triu(-1), x.repeat(1, 2), x.masked_fill(m, 1),
            x.index_select(1, T(M, x, [5, 0])),
            x.gather(1, T(M, x, [[1, 5]] * 4)), x.nonzero(), x.diag(), x.diag(-1).diag(), y, x.masked_select(m),
            x.scatter(1, T(M, x, [[1, 5]] * 4), x[:, :2].clone()), x.index_add(0, T(M, x, [3, 3]), x[:2].clone())]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int32", "bool"])
def test_dtypes_and_strided_inputs(device, dtype, torch):
    if dtype == "bfloat16" and device == "cpu":
        with pytest.raises(TypeError, match="bfloat16 tensors are supported on CUDA only"):
            tg.ones(2, 2, dtype=tg.bfloat16)  # NOTE: NumPy has no bfloat16: the CPU refuses it
        return
    rng = np.random.default_rng(5)
    a = rng.integers(-3, 4, (6, 4))
    mask = rng.random((4, 6)) < 0.5
    a = a > 0 if dtype == "bool" else a
    x = tg.tensor(a, device=device).to(getattr(tg, dtype)).t()  # NOTE: a transposed, non-contiguous view
    tx = torch.tensor(a).to(getattr(torch, dtype)).t()
    got = _strided_program(tg, x, tg.tensor(mask, device=device))
    want = _strided_program(torch, tx, torch.tensor(mask))
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype.name == str(w.dtype).split(".")[1], k
        np.testing.assert_array_equal(g.float().cpu().numpy() if dtype == "bfloat16" else g.cpu().numpy(),
                                      w.float().numpy() if dtype == "bfloat16" else w.numpy(), err_msg=str(k))


SECOND_ORDER = {
    "index": lambda x, v: x[T(tg, x, [0, 2, 0, -1])] ** 2,
    "pair_mask": lambda x, v: x[[0, 1], [2, 2]] ** 2 + x[x > 0].sum() ** 2,
    "gather_scatter": lambda x, v: x.gather(1, T(tg, x, [[0, 0], [1, 2], [2, 2]])) ** 2
    + x.scatter(0, T(tg, x, [[0, 1, 2], [1, 2, 0]]), v).sum() ** 2,
    "join": lambda x, v: tg.cat([x, x ** 2], 1).flip(0).roll(1, 1).tril() ** 2 + tg.stack([x, x]).sum() ** 2,
    "put": lambda x, v: (x * 1).index_put_((T(tg, x, [1, 1]),), v, accumulate=True) ** 2
    + x.masked_fill(x > 0, 1.0) ** 2,
}


def _gradgrad(case, device):
    rng = np.random.default_rng(11)
    x = tg.tensor(rng.standard_normal((3, 3)), device=device, requires_grad=True)
    v = tg.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    assert tg.autograd.gradgradcheck(SECOND_ORDER[case], (x, v))


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_second_order(case):
    """Double backward through every row (the formulas on Tensors; test_formulas.py checks that they
    give the array path's bits on both devices)."""
    _gradgrad(case, "cpu")


def test_second_order_of_an_embedding_lookup(device):
    _gradgrad("index", device)


def test_index_primitives_have_one_signature_on_both_backends(device):
    """The rows naming kernels/index_ops.py: its wrappers take the CPU primitives' parameters (keyword calls)."""
    import inspect

    from tritongrad.backends import CPUBackend
    from tritongrad.backends.primitives import PRIMITIVES

    names = [p.name for p in PRIMITIVES if p.triton and p.triton.startswith("index_ops.")]
    assert len(names) == 20
    for name in names:
        cpu = inspect.signature(getattr(CPUBackend, name))
        if device == "cuda":
            tg.ones(1, device="cuda")  # NOTE: initializes the (emulated) device before the kernels import
            from tritongrad.kernels import index_ops

            assert inspect.signature(getattr(index_ops, name)) == cpu, name
        else:
            assert list(cpu.parameters)[0] in ("a", "x", "out", "grad", "index", "v", "arrays", "flat"), name


def test_writes_without_a_graph(device, torch):
    """The direct in-place paths (no graph recorded): masked fills, index puts, scatters, on views."""
    a = np.random.default_rng(4).standard_normal((5, 6)).astype(np.float32)
    results = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x = M.tensor(a, device=dev)
        x[x < 0] = 0
        x[:, 1:][T(M, x, [True, False, True, False, True])] = M.tensor(-1.0, device=dev)
        x[T(M, x, [4, 0])] = M.tensor(a[:2], device=dev)
        x[T(M, x, [1, 1]), T(M, x, [2, 5])] = M.tensor([7.0, 8.0], device=dev)
        x.index_put_((T(M, x, [3, 3]),), M.tensor(a[:2], device=dev), accumulate=True)
        x.t().masked_fill_(T(M, x, [True, False, False, False, True]), 2.5)
        x[:, ::2].scatter_add_(0, T(M, x, [[0, 0, 4]]), M.ones(1, 3, device=dev))
        x.narrow(1, 2, 3).index_copy_(1, T(M, x, [2, 0]), M.zeros(5, 2, device=dev))
        results.append(x.cpu().numpy())
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_out_of_place_is_pytorchs_node(device, torch, rng, accumulate):
    """x.index_put(...) records IndexPutBackward0 on x itself, as PyTorch's (no clone's node between), with
    PyTorch's values and gradients for x and the values (repeated indices only where they add: which write
    lands is unspecified otherwise)."""
    data, vals, w = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    results = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x, v = M.tensor(data, device=dev, requires_grad=True), M.tensor(vals, device=dev, requires_grad=True)
        y = x.index_put((M.tensor([0, 2, 2 if accumulate else 3, -1], device=dev),), v, accumulate=accumulate)
        (y * M.tensor(w, device=dev)).sum().backward()
        nxt = [type(n).__name__ if n is not None else None for n, _ in y.grad_fn.next_functions]
        results.append((y.grad_fn.name(), nxt, y.detach().cpu().numpy(), x.grad.cpu().numpy(), v.grad.cpu().numpy()))
    (name, nxt, *got), (tname, tnxt, *want) = results
    assert name == tname == "IndexPutBackward0" and nxt == tnxt == ["AccumulateGrad", "AccumulateGrad"]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("name", ["index_put", "index_put_"])
def test_index_put_argument_errors(device, torch, name):
    """A non-Tensor entry: PyTorch's TypeError and text; no index at all: a RuntimeError (PyTorch's text is
    internal). Nothing is written either way."""
    x, tx = tg.zeros(3, 4, device=device), torch.zeros(3, 4)
    for M, t in ((tg, x), (torch, tx)):
        with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0, but got list"):
            getattr(t, name)((M.tensor([0], device=t.device), [1]), M.ones(1, device=t.device))
        with pytest.raises(RuntimeError):
            getattr(t, name)((), M.tensor(5.0, device=t.device))
    assert (x.cpu().numpy() == 0).all() and x._version == 0
