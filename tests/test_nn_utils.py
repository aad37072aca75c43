"""tritongrad.nn.utils: clip_grad_norm_ (every norm type), clip_grad_value_, parameters_to_vector and
vector_to_parameters against PyTorch, on both devices."""
import math

import numpy as np
import pytest

import tritongrad as tg
from tritongrad import nn

SHAPES = [(3, 4), (5,), (1,)]


def params_with_grads(torch, rng, device, scale=1.0):
    data = [(rng.standard_normal(s), rng.standard_normal(s) * scale) for s in SHAPES]
    ours, theirs = [], []
    for value, grad in data:
        p, q = nn.Parameter(tg.tensor(value, device=device)), torch.nn.Parameter(torch.tensor(value))
        p.grad, q.grad = tg.tensor(grad, device=device), torch.tensor(grad)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, 0.5, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(torch, device, rng, norm_type, max_norm):
    ours, theirs = params_with_grads(torch, rng, device)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.shape == () and total.device == tg.device(device)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_nonfinite_and_edge_cases(torch, rng):
    ours, theirs = params_with_grads(torch, rng, "cpu")
    ours[1].grad.numpy()[0] = math.inf
    theirs[1].grad[0] = math.inf
    with pytest.raises(RuntimeError) as e1:
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as e2:
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    assert str(e1.value) == str(e2.value)
    assert ours[0].grad.numpy().tolist() == theirs[0].grad.numpy().tolist()  # nothing was scaled
    assert nn.utils.clip_grad_norm_(ours, 1.0).item() == math.inf  # error_if_nonfinite=False scales anyway
    single = nn.Parameter(tg.tensor([3.0, 4.0]))
    single.grad = tg.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(single, 1.0).item() == 5.0  # a single tensor is accepted
    assert nn.utils.clip_grad_norm_([nn.Parameter(tg.randn(2))], 1.0).item() == 0.0  # no gradients


def test_clip_grad_value_matches_torch(torch, device, rng):
    ours, theirs = params_with_grads(torch, rng, device, scale=2.0)
    assert nn.utils.clip_grad_value_(iter(ours), 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.cpu().numpy(), q.grad.numpy())


def test_parameters_to_vector_and_back(torch, device, rng):
    ours, theirs = params_with_grads(torch, rng, device)
    vec = nn.utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vec.detach().cpu().numpy(), torch.nn.utils.parameters_to_vector(theirs).detach())
    (vec * tg.arange(vec.numel(), dtype=vec.dtype, device=device)).sum().backward()  # differentiable
    start = 0
    for p, q in zip(ours, theirs):
        n = p.numel()
        assert np.allclose(p.grad.cpu().numpy().ravel(), q.grad.numpy().ravel() + np.arange(start, start + n))
        start += n
    new = tg.tensor(rng.standard_normal(vec.numel()), device=device)
    nn.utils.vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new.cpu().numpy()), theirs)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), q.detach().numpy())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], ours)


def test_parameters_on_two_devices():
    if not tg.cuda.is_available():
        pytest.skip("no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
    with pytest.raises(TypeError, match="Found two parameters on different devices"):
        nn.utils.parameters_to_vector([nn.Parameter(tg.randn(2)), nn.Parameter(tg.randn(2, device="cuda"))])
