"""Views: t, transpose, permute, reshape, view, flatten, unsqueeze, squeeze, expand and basic indexing.

A view shares memory and the version counter with its base; its gradient flows back to the base.
Values, shapes and strides are checked against NumPy, node names and messages against PyTorch.
"""

import numpy as np
import pytest
from helpers import check_grad, randn

import tritongrad as tg

# (name, view of a tensor x shaped (2, 3, 4), the same view of a NumPy array a); each is a view in PyTorch.
VIEWS = [
    ("t", lambda x: x[0].t(), lambda a: a[0].T), ("T", lambda x: x[1].T, lambda a: a[1].T),
    ("mT", lambda x: x.mT, lambda a: a.swapaxes(1, 2)),
    ("transpose", lambda x: x.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    ("transpose_neg", lambda x: x.transpose(-1, 1), lambda a: a.swapaxes(2, 1)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    ("permute_list", lambda x: x.permute([1, -1, 0]), lambda a: a.transpose(1, 2, 0)),
    ("view", lambda x: x.view(6, 4), lambda a: a.reshape(6, 4)),
    ("view_infer", lambda x: x.view(4, -1, 2), lambda a: a.reshape(4, 3, 2)),
    ("view_tuple", lambda x: x.view((24,)), lambda a: a.reshape(24)),
    ("reshape", lambda x: x.reshape(3, 8), lambda a: a.reshape(3, 8)),
    ("reshape_infer", lambda x: x.reshape(-1), lambda a: a.reshape(-1)),
    ("flatten", lambda x: x.flatten(), lambda a: a.reshape(24)),
    ("flatten_1", lambda x: x.flatten(1), lambda a: a.reshape(2, 12)),
    ("flatten_01", lambda x: x.flatten(0, 1), lambda a: a.reshape(6, 4)),
    ("unsqueeze_0", lambda x: x.unsqueeze(0), lambda a: a[None]),
    ("unsqueeze_2", lambda x: x.unsqueeze(2), lambda a: a[:, :, None]),
    ("unsqueeze_neg", lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    ("squeeze", lambda x: x[:, :1].squeeze(), lambda a: a[:, 0]),
    ("squeeze_dim", lambda x: x[:, :1].squeeze(1), lambda a: a[:, 0]),
    ("squeeze_dims", lambda x: x[:1, :1].squeeze((0, 1)), lambda a: a[0, 0]),
    ("squeeze_noop", lambda x: x.squeeze(0), lambda a: a),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4), lambda a: np.broadcast_to(a[:, :1], (2, 5, 4))),
    ("expand_new_dims", lambda x: x[0, :, :1].expand(2, 2, 3, 4), lambda a: np.broadcast_to(a[0, :, :1], (2, 2, 3, 4))),
    ("expand_minus1", lambda x: x[:, :1].expand(-1, 3, -1), lambda a: np.broadcast_to(a[:, :1], (2, 3, 4))),
    ("select", lambda x: x.select(1, 2), lambda a: a[:, 2]),
    ("narrow", lambda x: x.narrow(2, 1, 2), lambda a: a[:, :, 1:3]),
    ("int", lambda x: x[1], lambda a: a[1]), ("neg_int", lambda x: x[-1, -2], lambda a: a[-1, -2]),
    ("ints", lambda x: x[1, 2, 3], lambda a: a[1, 2, 3, ...]),
    ("slice", lambda x: x[1:], lambda a: a[1:]), ("slice_step", lambda x: x[:, ::2], lambda a: a[:, ::2]),
    ("slice_both", lambda x: x[0, 1:3], lambda a: a[0, 1:3]),
    ("slice_clip", lambda x: x[:, 1:10], lambda a: a[:, 1:10]),
    ("slice_neg", lambda x: x[:, -2:], lambda a: a[:, -2:]), ("slice_empty", lambda x: x[:, 2:1], lambda a: a[:, 2:1]),
    ("ellipsis", lambda x: x[..., 1], lambda a: a[..., 1]),
    ("ellipsis_mid", lambda x: x[1, ..., 2], lambda a: a[1, ..., 2]),
    ("ellipsis_only", lambda x: x[...], lambda a: a[...]), ("none", lambda x: x[None], lambda a: a[None]),
    ("none_mid", lambda x: x[:, None, 1], lambda a: a[:, None, 1]),
    ("none_ellipsis", lambda x: x[None, ..., None], lambda a: a[None, ..., None]),
    ("colon", lambda x: x[:], lambda a: a[:]),
    ("chain", lambda x: x.transpose(0, 1)[1:].reshape(2, 2, 4)[:, 1],
     lambda a: a.swapaxes(0, 1)[1:].reshape(2, 2, 4)[:, 1]),
]
NAMES = [v[0] for v in VIEWS]

# NOTE: a new size-1 axis from None gets stride 0 (NumPy's choice) where PyTorch computes one; such a
# stride is never used to address memory, so strides are compared only for views without None.
NO_STRIDES = {"none", "none_mid", "none_ellipsis"}


def base_array(rng, shape=(2, 3, 4)):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name, fn, np_fn", VIEWS, ids=NAMES)
def test_view_values_strides_and_sharing(name, fn, np_fn, device, rng):
    a = base_array(rng)
    x = tg.tensor(a, device=device)
    v = fn(x)
    ref = np_fn(a)
    assert v.shape == ref.shape and v.dtype is x.dtype and v.device == x.device
    np.testing.assert_array_equal(v.cpu().numpy(), ref)
    # shares memory and the version counter, both ways
    assert v._version == x._version == 0
    if not name.startswith("expand"):
        v.fill_(7.0)
        assert x._version == v._version == 1
        np_fn(a)[...] = 7.0
        np.testing.assert_array_equal(x.cpu().numpy(), a)
    x.add_(1.0)
    assert v._version == x._version
    np.testing.assert_array_equal(v.cpu().numpy(), np_fn(x.cpu().numpy()))


@pytest.mark.parametrize("name, fn, np_fn", VIEWS, ids=NAMES)
def test_view_grad(name, fn, np_fn, device, rng):
    x = randn(rng, (2, 3, 4), device)
    if fn(x).numel() == 0:
        fn(x).sum().backward()
        assert x.grad.cpu().numpy().tolist() == np.zeros((2, 3, 4)).tolist()
        return
    check_grad(lambda x: fn(x) * 1.5, [x])


@pytest.mark.parametrize("name, fn, np_fn", VIEWS, ids=NAMES)
def test_view_matches_pytorch(name, fn, np_fn, torch, rng):
    """grad_fn name, strides and contiguity as PyTorch's."""
    a = base_array(rng)
    want = fn(torch.tensor(a, requires_grad=True))
    got = fn(tg.tensor(a, requires_grad=True))
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    assert got.is_contiguous() == want.is_contiguous()
    if name not in NO_STRIDES:
        assert got.stride() == want.stride()


def test_view_base_and_is_leaf():
    x = tg.randn(2, 3)
    v = x[0].t()
    assert v._base is x and x._base is None and v.is_leaf
    y = tg.randn(2, 3, requires_grad=True)
    w = y.view(6)
    assert w._base is y and not w.is_leaf and w.requires_grad


def test_view_of_nonleaf_shares_version_with_its_base():
    x = tg.randn(3, 4, requires_grad=True)
    y = x * 2
    v = y[1:].view(8)
    with tg.no_grad():
        v.mul_(2)
    assert y._version == v._version == 1 and x._version == 0


def test_reshape_copies_only_when_it_must(rng):
    x = tg.tensor(rng.standard_normal((3, 4)))
    r = x.reshape(12)
    r[0] = 100.0
    assert x[0, 0].item() == 100.0, "a reshape that can be a view is one"
    c = x.t().reshape(12)
    c[1] = -100.0
    assert x[1, 0].item() != -100.0, "a reshape of a transposed tensor copies"
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), np.concatenate([[100.0], x.t().numpy().reshape(-1)[1:]]) * 0
                                  + np.array(c.numpy()))


def test_reshape_of_strided_view_grad_and_name(rng, torch):
    x = randn(rng, (3, 5))
    check_grad(lambda x: x.t().reshape(15) * 2, [x])
    got = tg.ones(3, 5, requires_grad=True).t().reshape(15)
    want = torch.ones(3, 5, requires_grad=True).t().reshape(15)
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__ == "UnsafeViewBackward0"


def test_view_chain_grad_through_ops(device, rng):
    x = randn(rng, (3, 1, 17), device)
    w = randn(rng, (17, 3), device)
    check_grad(lambda x, w: (x.squeeze(1)[:, 2:].t() * w[2:]).sum(0).unsqueeze(-1).expand(3, 4), [x, w])


INDEXING = [v for v in VIEWS if v[0].startswith(("int", "neg_int", "slice", "ellipsis", "none", "colon"))]


@pytest.mark.parametrize("name, fn, np_fn", INDEXING, ids=[v[0] for v in INDEXING])
def test_setitem(name, fn, np_fn, device, rng):
    """x[idx] = value (a number, or a tensor that broadcasts) for the indexing entries of the table."""
    a = base_array(rng)
    idx = _index_of(fn)
    x = tg.tensor(a, device=device)
    x[idx] = -3.5
    b = a.copy()
    b[idx] = -3.5
    np.testing.assert_array_equal(x.cpu().numpy(), b)
    assert x._version == 1
    target_shape = b[idx].shape
    val = rng.standard_normal(target_shape[-1:] if target_shape else ())
    x[idx] = tg.tensor(val, device=device)
    b[idx] = val
    np.testing.assert_array_equal(x.cpu().numpy(), b)
    assert x._version == 2


def _index_of(fn):
    """The index a table entry applies, found by applying it to an object that records it."""
    class Rec:
        def __getitem__(self, idx):
            self.idx = idx
            return self

    r = Rec()
    fn(r)
    return r.idx


def test_setitem_casts_and_broadcasts(device):
    x = tg.zeros(2, 3, dtype=tg.int64, device=device)
    x[0] = tg.tensor([1.7, -2.2, 3.9], device=device)
    x[1, 1:] = 5
    assert x.cpu().tolist() == [[1, -2, 3], [0, 5, 5]]
    y = tg.zeros(2, 3, 4, device=device)
    y[0] = tg.ones(1, 3, 4, device=device)  # leading size-1 dims are dropped, as in PyTorch
    y[1] = tg.full((3, 1), 2.0, device=device)
    assert y.cpu().numpy()[0].tolist() == np.ones((3, 4)).tolist() and (y.cpu().numpy()[1] == 2).all()


# --- errors, with PyTorch's messages -------------------------------------------------------------
ERRORS = [
    ("view_stride", lambda L, x: x.transpose(0, 2).view(24)),
    ("view_stride2", lambda L, x: x.transpose(0, 1).view(3, 8)),
    ("view_size", lambda L, x: x.view(5, 5)),
    ("view_infer_bad", lambda L, x: x.view(5, -1)),
    ("view_two_infer", lambda L, x: x.view(-1, -1)),
    ("view_negative", lambda L, x: x.view(-2, 12)),
    ("reshape_size", lambda L, x: x.reshape(7)),
    ("reshape_empty_infer", lambda L, x: L.ones(0, 3).reshape(-1, 0)),
    ("flatten_order", lambda L, x: x.flatten(2, 0)),
    ("unsqueeze_range", lambda L, x: x.unsqueeze(4)),
    ("unsqueeze_range_neg", lambda L, x: x.unsqueeze(-5)),
    ("squeeze_range", lambda L, x: x.squeeze(3)),
    ("expand_size", lambda L, x: x.expand(2, 3, 5)),
    ("expand_too_few", lambda L, x: x.expand(3, 4)),
    ("expand_lead_minus1", lambda L, x: x.expand(-1, 2, 3, 4)),
    ("t_3d", lambda L, x: x.t()),
    ("transpose_range", lambda L, x: x.transpose(0, 3)),
    ("permute_len", lambda L, x: x.permute(0, 1)),
    ("permute_dup", lambda L, x: x.permute(0, 1, 1)),
    ("permute_range", lambda L, x: x.permute(0, 1, 3)),
    ("index_range", lambda L, x: x[2]),
    ("index_range_dim", lambda L, x: x[:, -4]),
    ("index_too_many", lambda L, x: x[0, 0, 0, 0]),
    ("select_range", lambda L, x: x.select(1, 3)),
    ("size_range", lambda L, x: x.size(3)),
    ("setitem_shape", lambda L, x: x.__setitem__(0, L.ones(4, 3))),
    ("setitem_too_many_dims", lambda L, x: x.__setitem__(0, L.ones(2, 3, 4))),
    ("copy_shape", lambda L, x: x[0].copy_(L.ones(3, 2))),
    ("binary_broadcast", lambda L, x: x + L.ones(3, 3)),
    ("binary_broadcast_lead", lambda L, x: x[0] + L.ones(2, 4, 4)),
]


@pytest.mark.parametrize("name, fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_view_errors_match_pytorch(name, fn, torch):
    with pytest.raises(Exception) as want:
        fn(torch, torch.ones(2, 3, 4))
    with pytest.raises(type(want.value)) as got:
        fn(tg, tg.ones(2, 3, 4))
    assert str(got.value) == str(want.value).replace("torch.", "tritongrad.")


def test_negative_step_and_float_indices_are_refused():
    x = tg.ones(2, 3)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="valid indices"):
        x[1.5]


def test_index_with_integer_tensor_scalar():
    x = tg.arange(12).view(3, 4)
    assert x[tg.tensor(1)].tolist() == [4, 5, 6, 7]
    assert x[1, tg.tensor(2)].item() == 6
