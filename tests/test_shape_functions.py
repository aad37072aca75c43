"""Shape helpers PyTorch code reaches for (ravel, broadcast_to, broadcast_tensors, broadcast_shapes,
atleast_1d/2d/3d, meshgrid, type_as) and the metadata methods (ndimension, nbytes, itemsize, is_cpu,
get_device, is_complex, is_signed, data_ptr): values, nodes and gradients against PyTorch on both
devices, and PyTorch's errors."""
import warnings

import numpy as np
import pytest

import tritongrad as tg

CASES = {
    "ravel_transposed": lambda M, x, v, s: x.t().ravel(),
    "ravel_function": lambda M, x, v, s: M.ravel(x),
    "broadcast_to": lambda M, x, v, s: v.broadcast_to((4, 3)),
    "broadcast_to_sizes": lambda M, x, v, s: v.broadcast_to(2, 3),
    "broadcast_to_function": lambda M, x, v, s: M.broadcast_to(v, (2, 3)),
    "broadcast_tensors": lambda M, x, v, s: M.broadcast_tensors(x, v)[1] * M.broadcast_tensors(x, v)[0],
    "atleast_1d": lambda M, x, v, s: M.atleast_1d(s),
    "atleast_2d": lambda M, x, v, s: M.atleast_2d(v),
    "atleast_3d_vector": lambda M, x, v, s: M.atleast_3d(v),
    "atleast_3d_matrix": lambda M, x, v, s: M.atleast_3d(x),
    "atleast_3d_scalar": lambda M, x, v, s: M.atleast_3d(s),
    "atleast_tuple": lambda M, x, v, s: M.atleast_2d([s, v])[0] * M.atleast_2d(s, v)[1],
    "meshgrid_ij": lambda M, x, v, s: M.meshgrid(v, x[0, :2], indexing="ij")[1],
    "meshgrid_xy": lambda M, x, v, s: M.meshgrid(v, x[0, :2], s, indexing="xy")[0],
    "type_as": lambda M, x, v, s: x.type_as(M.zeros(1, dtype=M.float32, device=x.device)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_shape_helpers_match_pytorch(device, torch, rng, case):
    data = [rng.standard_normal(shape) for shape in ((2, 3), (3,), (1,))]
    w = None
    results = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x, v, s = (M.tensor(a, device=dev, requires_grad=True) for a in data)
        y = CASES[case](M, x, v, s[0])
        w = rng.standard_normal(tuple(y.shape)) if w is None else w
        (y * M.tensor(w, device=dev, dtype=y.dtype)).sum().backward()
        grads = [None if t.grad is None else t.grad.cpu().numpy() for t in (x, v, s)]
        results.append((tuple(y.shape), y.dtype == M.float32, y.grad_fn.name(), y.detach().cpu().numpy(), grads))
    (shape, f32, name, value, grads), (tshape, tf32, tname, tvalue, tgrads) = results
    assert shape == tshape and f32 == tf32 and name == tname
    np.testing.assert_allclose(value, tvalue, rtol=1e-6)
    for g, tgr in zip(grads, tgrads):
        assert (g is None) == (tgr is None)
        if g is not None:
            np.testing.assert_allclose(g, tgr, rtol=1e-6)


def test_broadcast_tensors_returns_a_tensor_already_of_the_shape(device, torch):
    x = tg.ones(2, 3, device=device)
    a, b = tg.broadcast_tensors(x, tg.ones(3, device=device))
    assert a is x and b.shape == (2, 3) and b._base is not None


@pytest.mark.parametrize("shapes", [((2, 3), (1,), (3,)), (3, (2, 1)), (), ((0, 1), (4,)), ([2, 1], (1, 1, 5))])
def test_broadcast_shapes_matches_pytorch(torch, shapes):
    assert tuple(tg.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(tg.broadcast_shapes(*shapes), tg.Size)


@pytest.mark.parametrize("call", ["M.broadcast_shapes((2, 3), (4,))", "M.broadcast_shapes((2, 3), (-1,))",
                                  "M.broadcast_shapes((2, 3), 2.5)", "M.broadcast_tensors(x, M.ones(4, 3))",
                                  "M.broadcast_tensors(x, 3)", "M.broadcast_to(x, 3)", "M.broadcast_to(3, (2, 3))",
                                  "x.broadcast_to((3, 3))", "M.meshgrid()", "M.meshgrid(x, indexing='ij')",
                                  "M.meshgrid(M.ones(2), M.ones(2, dtype=M.float64), indexing='ij')",
                                  "M.meshgrid(M.ones(2), indexing='yx')", "M.atleast_1d([x, 3])", "x.type_as(3)",
                                  "M.broadcast_tensors([x, x])"])
def test_shape_helper_errors_match_pytorch(torch, call):
    errors = []
    for M in (tg, torch):
        x = M.ones(2, 3)
        with pytest.raises((RuntimeError, TypeError, ValueError)) as e:
            eval(call, {"M": M, "x": x})
        errors.append(e.value)
    assert type(errors[0]) is type(errors[1])
    if "meshgrid(x" not in call and "2.5" not in call:  # NOTE: PyTorch prints the tensor or a float there
        assert str(errors[0]).replace("tritongrad", "torch") == str(errors[1]), call


def test_meshgrid_warns_without_indexing(torch):
    """PyTorch's warning, and its 'ij' default (its own warning fires once per process: not compared)."""
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        a, b = tg.meshgrid(tg.arange(2), tg.arange(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ta, tb = torch.meshgrid(torch.arange(2), torch.arange(3))
    assert a.tolist() == ta.tolist() and b.tolist() == tb.tolist()


def test_metadata_matches_pytorch(device, torch):
    for dtype in ("float32", "float64", "int64", "uint8", "bool", "int8", "float16"):
        x, t = tg.zeros(2, 3, dtype=getattr(tg, dtype), device=device), torch.zeros(2, 3, dtype=getattr(torch, dtype))
        assert (x.ndimension(), x.nbytes, x.itemsize, x.is_complex(), x.is_signed(), tg.is_signed(x)) == (
            t.ndimension(), t.nbytes, t.itemsize, t.is_complex(), t.is_signed(), torch.is_signed(t))
        assert x.is_cpu == (device == "cpu") and x.get_device() == (-1 if device == "cpu" else 0)
    x = tg.arange(12.0, device=device).reshape(3, 4)
    assert x[1:].data_ptr() == x.data_ptr() + 4 * x.itemsize and x.t().data_ptr() == x.data_ptr()
    assert x.clone().data_ptr() != x.data_ptr()
