"""Derivative formulas (tritongrad/ops/formulas.py) give the same bits on backend arrays (backward()'s
path) as on Tensors (the path of backward(inputs=), grad() and create_graph), for every op that has one."""
import numpy as np
import pytest

import tritongrad as tg
from tritongrad.ops.table import Op

# name -> (input shapes, program): each op with a formula, with broadcasting, Python scalars, alpha,
# dims and keepdim, views, a non-formula op in between, and repeated use of one input.
CASES = {
    "add_broadcast": ([(3, 1, 4), (4,)], lambda a, b: a + b),
    "add_alpha": ([(2, 3), (3,)], lambda a, b: a.add(b, alpha=0.5)),
    "add_scalars": ([(5,)], lambda a: 2 + a + 2.5),
    "sub_broadcast": ([(2, 1), (1, 3)], lambda a, b: a - b),
    "sub_alpha": ([(4,), (4,)], lambda a, b: a.sub(b, alpha=2)),
    "rsub": ([(2, 3)], lambda a: 1.5 - a),
    "mul_broadcast": ([(3, 1, 4), (1, 5, 1)], lambda a, b: a * b),
    "mul_scalar": ([(3,)], lambda a: 3 * a * 0.25),
    "mul_self": ([(2, 2)], lambda a: a * a),
    "pow": ([(3, 2)], lambda a: a ** 2 + a.abs() ** 1.5 + a ** 3),
    "sum_all": ([(2, 3, 4)], lambda a: a.sum() * a),
    "sum_dims": ([(2, 3, 4)], lambda a: a.sum(1) * 2 + a.sum((0, 2), keepdim=True).sum()),
    "mean": ([(2, 3, 4)], lambda a: a.mean() * a + a.mean(-1, keepdim=True)),
    "sum_large": ([(65, 64)], lambda a: a.sum() * a + a.mean(0, keepdim=True)),  # broadcast() views past 4096
    "index": ([(3, 4)], lambda a: a[1] * a[2] + a[:, 1:3].sum() + a[..., None, 0].sum()),
    "select_scalar": ([(2,)], lambda x: (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2),
    "clamp": ([(4, 3)], lambda a: a.clamp(min=-0.5) + a.clamp(-0.3, 0.4) + a.clamp(max=0.2)),
    "mm": ([(3, 5), (5, 2)], lambda a, b: a.mm(b).exp() + (a @ b)),
    "div": ([(2, 3), (3,)], lambda a, b: a / (b.abs() + 0.5) + a / 4 + 1 / (a.abs() + 1)),
    "unary": ([(3, 4)], lambda a: -a + a.exp() * a.abs().log() + a.abs().sqrt() + a.sin() * a.cos() + a.sign()
              + a.relu() + a.sigmoid() * a.tanh()),
    "views": ([(2, 3, 4)], lambda a: a.view(6, 4).t().reshape(4, 2, 3).permute(2, 0, 1).unsqueeze(1).squeeze(1)
              + a.transpose(0, 2).sum(2, keepdim=True).expand(4, 3, 2).transpose(0, 1)),
    "reshape_copy": ([(3, 4)], lambda a: a.t().reshape(-1).view(2, 6) * a.view(-1)[:6].expand(2, 6)),
    "softmax": ([(3, 5)], lambda a: tg.nn.functional.softmax(a, 1) + tg.nn.functional.log_softmax(a, 0) * a.clone()),
    # indexing, gathers and scatters (ops/index.py, ops/advanced.py), joining (ops/join.py)
    "advanced_index": ([(5, 4)], lambda a: a[_i(a, [0, 4, -1, 0])] * 2 + a[[1, 1, 2, 3], [0, 3, 3, 1]][:, None]
                       + a[a > 0].sum() + a[:, _i(a, [[3], [0]]), None].sum()),
    "gather_scatter": ([(4, 3), (2, 3)], lambda a, b: a.gather(0, _i(a, [[3, 3, 0]])).sum() * a.scatter_add(
        0, _i(a, [[1, 1, 1], [1, 2, 0]]), b) + a.scatter(0, _i(a, [[0, 1, 2]]), b)
        + a.index_select(1, _i(a, [2, 2, 0]))),
    "index_put": ([(4, 3), (2, 3)], lambda a, b: (a * 1).index_put_((_i(a, [1, 1]),), b, accumulate=True)
                  + a.index_copy(0, _i(a, [3, 0, 1, 2]), a * b.sum()) + a.masked_fill(a > 0, 0.5)
                  + a.index_add(0, _i(a, [0, 0]), b)),
    "setitem": ([(4, 3), (2,)], lambda a, b: _setitem(a * 1, (_i(a, [0, 3]), _i(a, [2, 2])), b)
                + _setitem(a * 1, a < 0, 0.0) + a.masked_select(a > 0.2).sum()),
    "join": ([(2, 3), (2, 3)], lambda a, b: tg.cat([a, b], 1)[:, 1:4] * tg.stack([a, b]).sum(0)
             + sum(t.sum() for t in tg.cat([a, b]).split(3, 1)) + a.unbind(1)[2][:, None] * a.chunk(3, 1)[0]),
    "reorder": ([(3, 4)], lambda a: a.flip(0).roll(1, 1).tril() + a.repeat(1, 1).triu(1) + a.diag().sum()
                + a.diag(1).diag(1)[:3] + a.movedim(0, 1).t()),
}


def _i(like, data):
    return tg.tensor(data, device=like.device)


def _setitem(y, idx, value):
    y[idx] = value
    return y


def _grads(device, dtype, shapes, program, general, seed):
    rng = np.random.default_rng(seed)
    xs = [tg.tensor(rng.standard_normal(s) * 0.8, dtype=dtype, device=device, requires_grad=True) for s in shapes]
    out = program(*xs)
    w = tg.tensor(rng.standard_normal(out.shape), dtype=dtype, device=device)
    loss = (out * w).sum()
    if general:  # NOTE: grad() runs every node's formula on Tensors (apply), backward() on arrays
        return [g.cpu().numpy() for g in tg.autograd.grad(loss, xs)]
    loss.backward()
    return [x.grad.cpu().numpy() for x in xs]


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.float16], ids=str)
@pytest.mark.parametrize("case", CASES)
def test_formula_gives_the_same_bits_on_arrays_and_tensors(device, case, dtype):
    shapes, program = CASES[case]
    arrays = _grads(device, dtype, shapes, program, general=False, seed=list(CASES).index(case))
    tensors = _grads(device, dtype, shapes, program, general=True, seed=list(CASES).index(case))
    for got, want in zip(arrays, tensors):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_formula_ops_cover_the_hot_ops():
    """The ops a small training step uses run their formula on arrays (a regression guard on speed)."""
    from tritongrad.ops import elementwise as E, linalg, reduce as R, view as V

    for op in (E.Add, E.Sub, E.Rsub, E.Mul, E.Div, E.Pow, E.ClampMin, E.Neg, E.Exp, E.Relu, E.Sigmoid, E.Tanh,
               R.Sum, R.SumDim, R.Mean, V.Select, V.View, V.Permute, V.T, V.Expand, linalg.Mm):
        assert op._backward_cls._formula is not None, op.__name__
        assert issubclass(op, Op)


def test_higher_order_gradients_go_through_the_tensor_formulas():
    x = tg.tensor([0.5, -1.25, 2.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad((x ** 3).sum() * 2, x, create_graph=True)
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 6 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(gg.numpy(), 12 * x.detach().numpy())


@pytest.mark.parametrize("general", [False, True], ids=["one_pass", "general"])
def test_a_root_gradient_of_another_dtype_is_cast_to_the_outputs(general):
    """backward(gradient) in float64 for a float32 output: the gradient is cast first, as PyTorch's
    engine casts it, so the leaf's .grad stays float32 (and formulas see one dtype)."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.backward(tg.tensor([1.0, 0.5], dtype=tg.float64), inputs=[x] if general else None)
    assert x.grad.dtype == tg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 1.5])
    (g,) = tg.autograd.grad(x * 2, x, tg.tensor([0.25, 1.0], dtype=tg.float16))
    assert g.dtype == tg.float32 and g.tolist() == [0.5, 2.0]


@pytest.mark.parametrize("shape, out_shape", [((), (4, 1, 5)), ((5,), (4, 1, 5)), ((3, 1), (2, 3, 5)),
                                              ((), (70, 64)), ((64,), (70, 64)), ((70, 1), (70, 64))])
def test_broadcast_reads_as_expand(device, shape, out_shape):
    """backend.broadcast (sum's and mean's gradient on arrays) has expand's values; on the CPU a small
    result is a new contiguous array (NumPy's fast loops), a large one a read-only view, as expand's."""
    be = tg.backends.get(device)
    a = tg.randn(*shape, dtype=tg.float64, device=device)._data
    got, want = be.broadcast(a, out_shape), be.expand(a, out_shape)
    np.testing.assert_array_equal(be.to_numpy(got), be.to_numpy(want))
    if device == "cpu":
        small = np.prod(out_shape) <= 4096
        assert got.flags.c_contiguous == small and got.flags.writeable == small
        assert np.shares_memory(got, a) != small


@pytest.mark.parametrize("idx", [(1,), (slice(1, 3), 0), (Ellipsis, None, 2), (None, 0, slice(None, None, 2))],
                         ids=["int", "slice_int", "ellipsis_none", "none_step"])
def test_index_backward_writes_the_gradient_at_the_index(device, idx):
    be = tg.backends.get(device)
    shape = (3, 4)
    want = np.zeros(shape, np.float32)
    g = np.random.default_rng(0).standard_normal(want[idx].shape).astype(np.float32)
    want[idx] = g
    got = be.index_backward(be.from_numpy(g), shape, idx, tg.float32)
    np.testing.assert_array_equal(be.to_numpy(got), want)


def test_zero_d_arithmetic_gives_the_same_bits_without_numpy_array_out(monkeypatch):
    """Before NumPy 2.3 (no ufunc out=...), 0-d results come back as NumPy scalars: Tensor._make converts
    them, formulas take them as they are; the gradients are the same."""
    from tritongrad.backends import cpu

    shapes, program = CASES["select_scalar"]
    want = _grads("cpu", tg.float32, shapes, program, general=False, seed=0)
    monkeypatch.setattr(cpu, "_ARRAY", None)
    x = tg.tensor([0.5], requires_grad=True)[0]
    assert type((1 - x)._data) is np.ndarray and type(np.multiply(x._data, x._data, out=cpu._ARRAY)) is not np.ndarray
    got = _grads("cpu", tg.float32, shapes, program, general=False, seed=0)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
