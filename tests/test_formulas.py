"""Every row of the op table (tritongrad/ops/table.py), on both devices: its derivative formula gives the
same bits on backend arrays (backward()'s path) as on Tensors (backward(inputs=), grad(), create_graph),
matches float64 central finite differences, and so does its second derivative (which runs the fused
backward primitives' own derivatives)."""
import numpy as np
import pytest

import tritongrad as tg
import tritongrad.nn.functional as NF
from tritongrad.ops.table import ROWS, Op


def _inplace(a, b):
    c = a * 2
    c.copy_(b)  # CopyBackwards: a gets zeros, b the gradient
    d = a * 3
    d[1].fill_(0.5)  # CopySlices of FillBackward0
    e = a.sin()
    e[0].zero_()
    return c + d * e


def _no_half(program, *ts):
    """program on ts, in float32 for float16 ts (the result back in float16): the SVD (ops/svd.py) has no
    half precision, as PyTorch's has none."""
    if ts[0].dtype is not tg.float16:
        return program(*ts)
    return program(*[t.float() for t in ts]).half()


def _losses(a):
    t = tg.tensor([0, 3, 1, 4], device=a.device)
    w = tg.tensor([0.5, 1.0, 2.0, 1.5, 0.25], dtype=a.dtype, device=a.device)
    lp = NF.log_softmax(a, 1)
    return (NF.nll_loss(lp, t) + NF.nll_loss(lp, t, weight=w, reduction="sum") * 0.5
            + NF.nll_loss(lp, t, reduction="none") * 0.25 + NF.mse_loss(a, a.sin())
            + NF.mse_loss(a, a.cos(), reduction="sum"))


# name -> (input shapes, program): together every row of the op table, with broadcasting, Python scalars,
# alpha, dims and keepdim, views, in-place writes, and repeated use of one input.
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
    "pow_tensor": ([(3, 4), (4,)], lambda a, b: (a.abs() + 0.5) ** b),
    "rpow": ([(5,)], lambda a: 2.5 ** a),
    "sum_all": ([(2, 3, 4)], lambda a: a.sum() * a),
    "sum_dims": ([(2, 3, 4)], lambda a: a.sum(1) * 2 + a.sum((0, 2), keepdim=True).sum()),
    "mean": ([(2, 3, 4)], lambda a: a.mean() * a + a.mean(-1, keepdim=True)),
    "sum_large": ([(65, 64)], lambda a: a.sum() * a + a.mean(0, keepdim=True)),  # broadcast() views past 4096
    "max_min": ([(3, 4)], lambda a: a.max() * a + a.min() + a.max(1).values.sum() + a.min(0, keepdim=True)[0]),
    "index": ([(3, 4)], lambda a: a[1] * a[2] + a[:, 1:3].sum() + a[..., None, 0].sum() + a[...]),
    "select_scalar": ([(2,)], lambda x: (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2),
    "clamp": ([(4, 3)], lambda a: a.clamp(min=-0.5) + a.clamp(-0.3, 0.4) + a.clamp(max=0.2) + a.clamp_min(0.1)
              + a.clamp_max(-0.1)),
    "clamp_tensor": ([(3, 4), (4,), (3, 1)],
                     lambda a, lo, hi: a.clamp(lo, hi + 1) + a.clamp_min(lo) * 2 + a.clamp_max(hi) * 3),
    "where": ([(3, 4), (4,)], lambda a, b: tg.where(a > 0, a * b, b)),
    "maximum_minimum": ([(3, 4), (4,)], lambda a, b: a.maximum(b) + a.minimum(b) * a),
    "mm": ([(3, 5), (5, 2)], lambda a, b: a.mm(b).exp() + (a @ b)),
    "remainder_fmod": ([(3, 4), (4,)], lambda a, b: (a * 3).remainder(b.abs() + 0.5) + (a * 3).fmod(b.abs() + 0.5) * a
                       + (a * 2) % 1.5 + (a * 5).fmod(-2.0)),
    "div_rounded": ([(3, 4), (4,)], lambda a, b: a.div(b, rounding_mode="floor") * a + a.div(b, rounding_mode="trunc")
                    + a),
    "matmul_kinds": ([(3, 4), (4,), (4,), (4, 5), (2, 3, 4)],
                     lambda a, u, v, b, t: (a @ u).sum() + v @ v + (u @ b).sum() + (t @ b).sum()),
    "div": ([(2, 3), (3,)], lambda a, b: a / (b.abs() + 0.5) + a / 4 + 1 / (a.abs() + 1)),
    "unary": ([(3, 4)], lambda a: -a + a.exp() * a.abs().log() + a.abs().sqrt() + a.sin() * a.cos() + a.sign()
              + a.relu() + a.sigmoid() * a.tanh() + (a.abs() + 0.5).reciprocal()),
    "views": ([(2, 3, 4)], lambda a: a.view(6, 4).t().reshape(4, 2, 3).permute(2, 0, 1).unsqueeze(1).squeeze(1)
              + a.transpose(0, 2).sum(2, keepdim=True).expand(4, 3, 2).transpose(0, 1)
              + a[:1].squeeze().unsqueeze(-1) + a[:, :1, :2].squeeze((0, 1)).sum()),
    "reshape_copy": ([(3, 4)], lambda a: a.t().reshape(-1).view(2, 6) * a.view(-1)[:6].expand(2, 6)),
    "log1p_expm1": ([(3, 4)], lambda a: (a.abs() + 0.1).log1p() * a.expm1()),
    "gelu": ([(3, 4)], lambda a: NF.gelu(a) * a + NF.gelu(a * 2, approximate="tanh")),
    "softmax": ([(3, 5)], lambda a: NF.softmax(a, 1) + NF.log_softmax(a, 0) * a.clone()),
    "losses": ([(4, 5)], _losses),
    "to_copy": ([(3, 4)], lambda a: a.to(tg.float32).to(tg.float64) * 3 + a),
    "inplace": ([(3, 4), (3, 4)], _inplace),
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
    "index_values": ([(4, 3), (2,)], lambda a, b: a.masked_fill(a > 0, b.sum()) + a.scatter(0, _i(a, [[0, 1, 2]]), 0.5)
                     + sum(t.sum() for t in a.split([1, 3])) * a),
    "scatter_reduce": ([(3, 4), (2, 4)], lambda a, b: sum(
        a.scatter_reduce(0, _i(a, [[0, 1, 0, 2], [0, 0, 0, 1]]), b, r, include_self=inc) * (k + 1)
        for k, (r, inc) in enumerate((r, inc) for r in ("sum", "prod", "mean", "amax", "amin")
                                     for inc in (True, False)))),
    "reorder": ([(3, 4)], lambda a: a.flip(0).roll(1, 1).tril() + a.repeat(1, 1).triu(1) + a.diag().sum()
                + a.diag(1).diag(1)[:3] + a.movedim(0, 1).t()),
    "fill_split": ([(4, 3), (1,)], lambda a, v: a.masked_fill(a > 0, v[0] * 2) * a
                   + a.scatter(0, _i(a, [[3, 1, 2]]), 0.5) * a
                   + a.split([1, 2], 1)[1].sum(1, keepdim=True) * a.split([2, 1], 1)[0].sum()),
    # math rows (ops/math.py, stats.py, sort.py, contract.py)
    "trig": ([(3, 5)], lambda a: a.tan() * 0.5 + (a * 0.9).clamp(-0.9, 0.9).asin() + (a * 0.5).acos() * a.atan()
             + a.sinh() * a.cosh()),
    "logs_erf": ([(3, 4)], lambda a: (a.abs() + 0.5).log2() * (a.abs() + 0.3).log10() + a.exp2() + a.erf() * a
                 + (a.abs() + 0.5).rsqrt()),
    "rounding": ([(4, 3)], lambda a: (a * 3).floor() * a + (a * 3).ceil() + (a * 3).round() * a + a.trunc() + a.frac()),
    "round_decimals": ([(4, 3)], lambda a: a.round(decimals=2) * a + (a * 30).round(decimals=-1) + a.round(decimals=0)),
    "atan2_lerp": ([(3, 4), (4,), (3, 1)], lambda a, b, w: tg.atan2(a, b + 2) + tg.lerp(a, b, 0.3) * a
                   + tg.lerp(a, b, w) + (a * 2).nan_to_num()),
    "norms": ([(3, 5)], lambda a: a.norm() * a + a.norm(1, dim=1) .sum() + tg.linalg.vector_norm(a, float("inf"), 0)
              .sum() * a + a.norm(dim=0, keepdim=True)),
    "svd_norms": ([(4, 3), (2, 3, 5)], lambda a, b: _no_half(lambda a, b: tg.linalg.svdvals(a).sum() * a
                  + tg.linalg.matrix_norm(b, 2).sum() + tg.linalg.matrix_norm(b, -2, dim=(0, 2)).sum()
                  + tg.linalg.norm(a, "nuc"), a, b) + a.amax(1, keepdim=True) + a.amin(0) + a.amax() * a.amin((0, 1))),
    "norms_any_ord": ([(3, 5)], lambda a: tg.linalg.vector_norm(a, -float("inf"), 1, True) * a + a.norm(3, dim=0)
                      + tg.linalg.vector_norm(a, 1.5) * a + tg.linalg.vector_norm(a, -1, 1, True) + a.norm(p=0.5)
                      + tg.linalg.vector_norm(a, 0) * a),
    "var_std": ([(4, 5)], lambda a: a.var() * a + a.std(1, keepdim=True) * a + a.var(0, correction=0)
                + a.std((0, 1), unbiased=False)),
    "logsumexp_prod": ([(3, 4)], lambda a: a.logsumexp(1, keepdim=True) + a.prod() * a.logsumexp((0, 1), keepdim=True)
                       + a.prod(0, keepdim=True)),
    "cumsum": ([(3, 4)], lambda a: a.cumsum(1) * a + a.cumsum(0).exp()),
    "sort_topk": ([(3, 6)], lambda a: a.sort(1).values * a + a.sort(0, descending=True, stable=True).values
                  + a.topk(2, dim=1).values.sum(1, keepdim=True) * a),
    "bmm_einsum": ([(2, 3, 4), (2, 4, 5), (4,)], lambda a, b, v: a.bmm(b).sum(-1) + tg.einsum("bij,bjk->bik", a, b)
                   .sum(-1) * tg.einsum("bij,j->bi", a, v) + tg.outer(v, v).sum() + a[0].mv(v) + v.dot(v)),
    "embedding": ([(5, 3)], lambda w: NF.embedding(tg.tensor([[1, 4, 1], [0, 2, 4]], device=w.device), w, padding_idx=3)
                  * w.sum()),
    "layer_norm": ([(3, 5), (5,), (5,)], lambda x, w, b: NF.layer_norm(x, (5,), w, b) * x
                   + NF.layer_norm(x.view(3, 5, 1) * 2, (5, 1)).view(3, 5)),
    "attention": ([(2, 3, 4), (2, 5, 4), (2, 5, 4)],
                  lambda q, k, v: NF.scaled_dot_product_attention(q, k, v) * q
                  + NF.scaled_dot_product_attention(q, k[:, :3], v[:, :3], is_causal=True)),
}
# NOTE: through float32: finite differences need a larger step, and then a looser tolerance
EPS, TOL = {"to_copy": 1e-3}, {"to_copy": dict(rtol=1e-3, atol=1e-3)}


def _inputs(shapes, seed, device, dtype=tg.float64):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s) * 0.8, dtype=dtype, device=device, requires_grad=True)
            for s in shapes]


def _weights(out, seed):
    return np.random.default_rng(seed + 100).standard_normal(out.shape)


def _i(like, data):
    return tg.tensor(data, device=like.device)


def _setitem(y, idx, value):
    y[idx] = value
    return y


def _grads(device, dtype, shapes, program, general, seed):
    xs = _inputs(shapes, seed, device, dtype)
    out = program(*xs)
    loss = (out * tg.tensor(_weights(out, seed), dtype=dtype, device=device)).sum()
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


def _first_order(program, arrays, w, create_graph=False, device="cpu"):
    """d(sum(program(*x) * w))/dx for float64 inputs `arrays` (Tensors with create_graph)."""
    xs = [tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True) for a in arrays]
    out = program(*xs)
    loss = (out * tg.tensor(w, dtype=tg.float64, device=device)).sum()
    return xs, tg.autograd.grad(loss, xs, create_graph=create_graph, allow_unused=True,
                                materialize_grads=True)


def _finite_differences(f, arrays, eps=1e-6):
    """d f(arrays) / d arrays[i] by central differences, f returning a float."""
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            plus = f(arrays)
            a[idx] = old - eps
            minus = f(arrays)
            a[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        out.append(g)
    return out


_EXPECTED = {}  # case -> float64 finite differences on the CPU (first and second order), computed once


def _expected(case):
    if case not in _EXPECTED:
        shapes, program = CASES[case]
        seed = list(CASES).index(case)
        arrays = [x.detach().numpy().copy() for x in _inputs(shapes, seed, "cpu")]
        with tg.no_grad():
            w = _weights(program(*[tg.tensor(a) for a in arrays]), seed)
        rng = np.random.default_rng(seed + 200)
        v = [rng.standard_normal(a.shape) for a in arrays]
        eps = EPS.get(case, 1e-6)
        first = _finite_differences(
            lambda xs: float((program(*[tg.tensor(a) for a in xs]).numpy() * w).sum()), arrays, eps)
        second = _finite_differences(
            lambda xs: sum(float((g.numpy() * vi).sum()) for g, vi in zip(_first_order(program, xs, w)[1], v)),
            arrays, eps)
        _EXPECTED[case] = arrays, w, v, first, second
    return _EXPECTED[case]


@pytest.mark.parametrize("case", [c for c in CASES if c != "sum_large"])  # NOTE: 4160 elements: sum, mean suffice
def test_first_and_second_derivatives_match_float64_finite_differences(device, case):
    arrays, w, v, first, second = _expected(case)
    program = CASES[case][1]
    xs, grads = _first_order(program, arrays, w, create_graph=True, device=device)
    for g, e in zip(grads, first):
        np.testing.assert_allclose(g.detach().cpu().numpy(), e, **TOL.get(case, dict(rtol=1e-5, atol=1e-6)))
    terms = [(g * tg.tensor(vi, device=device)).sum() for g, vi in zip(grads, v) if g.requires_grad]
    if not terms:  # every first derivative is a constant
        hv = [np.zeros_like(e) for e in second]
    else:
        hv = [g.cpu().numpy() for g in tg.autograd.grad(sum(terms), xs, allow_unused=True, materialize_grads=True)]
    for g, e in zip(hv, second):
        np.testing.assert_allclose(g, e, **TOL.get(case, dict(rtol=1e-4, atol=1e-5)))


def _node_names(tensors):
    done, stack = set(), [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node not in done:
            done.add(node)
            stack.extend(n for n, _ in node.next_functions if n is not None)
            if hasattr(node, "fn"):  # CopySlices: the in-place op it replays on the view
                stack.append(node.fn)
    return {type(n).__name__ for n in done}


def test_the_cases_reach_every_row_of_the_op_table():
    """Each op of the table (and each fused backward's own derivative) appears in some case's graph or in
    the graph of its first or second derivative."""
    seen = set()
    for shapes, program in CASES.values():
        xs = _inputs(shapes, 0, "cpu")
        out = program(*xs)
        seen |= _node_names([out])
        grads = [g for g in tg.autograd.grad(out.sum(), xs, create_graph=True, allow_unused=True) if g is not None]
        seen |= _node_names(grads)
        grads = [g for g in grads if g.requires_grad]
        if grads:  # NOTE: the second derivative's graph too (a scatter's derivative is a gather)
            seen |= _node_names(tg.autograd.grad(sum((g * g).sum() for g in grads), xs, create_graph=True,
                                                 allow_unused=True, materialize_grads=True))
    # NOTE: PyTorch's NotImplemented nodes (floor_divide, `5 % x`) have no derivative to reach; their
    # backward's error is tests/test_divmod.py's
    rows = {op._backward_cls.__name__ for op in ROWS} - {"NotImplemented"}
    assert sorted(rows - seen) == []


def test_every_row_has_one_derivative_formula_and_no_tensor_only_backward():
    """Each op of the table writes its derivative once, as a formula, which backward() runs on arrays and
    create_graph on Tensors: no row has a backward of its own."""
    import tritongrad.nn.functional  # noqa: F401  NOTE: loads every row (loss.py: by nn.functional)

    for op in ROWS:
        assert issubclass(op, Op) and op._backward_cls._formula is not None, op.__name__
        assert op.backward.__qualname__.startswith("Op.__init_subclass__"), op.__name__


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


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_log1p_expm1_match_pytorch(device, approximate, torch):
    x = np.random.default_rng(5).standard_normal((33, 65)) * 3
    # NOTE: float32 gelu of x < -3 is 1 + erf(...) cancelling: the last bits are rounding noise (~1e-6)
    for dtype, tdtype, tol in [(tg.float32, torch.float32, 4e-6), (tg.float64, torch.float64, 1e-13)]:
        for fn, tfn in [(lambda t: NF.gelu(t, approximate=approximate),
                         lambda t: torch.nn.functional.gelu(t, approximate=approximate)),
                        (lambda t: t.abs().log1p(), lambda t: t.abs().log1p()), (tg.expm1, torch.expm1)]:
            a = tg.tensor(x, dtype=dtype, device=device, requires_grad=True)
            b = torch.tensor(x, dtype=tdtype, requires_grad=True)
            y, yy = fn(a), tfn(b)
            assert y.grad_fn.name() == yy.grad_fn.name()
            np.testing.assert_allclose(y.detach().cpu().numpy(), yy.detach().numpy(), rtol=tol * 10, atol=tol)
            (g,) = tg.autograd.grad(y.sum(), a, create_graph=True)
            (gg,) = torch.autograd.grad(yy.sum(), b, create_graph=True)
            assert g.grad_fn.name() == gg.grad_fn.name()
            np.testing.assert_allclose(g.detach().cpu().numpy(), gg.detach().numpy(), rtol=tol * 10, atol=tol)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        NF.gelu(tg.ones(2, device=device), approximate="erf")
    with pytest.raises(NotImplementedError, match="\"GeluKernelImpl\" not implemented for 'Long'"):
        NF.gelu(tg.tensor([1, 2], device=device))
