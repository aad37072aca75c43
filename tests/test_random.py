"""Random numbers: the CPU stream equals PyTorch's bit for bit (same seed, same calls, same numbers),
the Generator API and its state, generator= plumbing, PyTorch's error messages, and on CUDA
(Philox, its own numbers) the distributions' moments, ranges and without-replacement uniqueness.
"""
import math

import numpy as np
import pytest
from helpers import same_error

import tritongrad as tg

SEEDS = (0, 7, 2147483647, 2**40 + 5)

# Each case is a call written once for both libraries: f(lib, generator) -> Tensor.
CASES = {
    "rand": lambda T, g: T.rand(97, generator=g),
    "rand_f64": lambda T, g: T.rand(33, 5, dtype=T.float64, generator=g),
    "randn_1": lambda T, g: T.randn(1, generator=g),
    "randn_15": lambda T, g: T.randn(3, 5, generator=g),
    "randn_16": lambda T, g: T.randn(16, generator=g),
    "randn_97": lambda T, g: T.randn(97, generator=g),
    "randn_33x65": lambda T, g: T.randn(33, 65, generator=g),
    "randn_f64_7": lambda T, g: T.randn(7, dtype=T.float64, generator=g),
    "randn_f64_97": lambda T, g: T.randn(97, dtype=T.float64, generator=g),
    "randn_size_kw": lambda T, g: T.randn(size=(2, 9), generator=g),
    "randint": lambda T, g: T.randint(-3, 17, (97,), generator=g),
    "randint_high": lambda T, g: T.randint(10, size=(4, 5), generator=g),
    "randint_wide": lambda T, g: T.randint(0, 2**40, (33,), generator=g),
    "randint_float": lambda T, g: T.randint(0, 9, (8,), dtype=T.float32, generator=g),
    "randperm_1": lambda T, g: T.randperm(1, generator=g),
    "randperm_97": lambda T, g: T.randperm(97, generator=g),
    "randperm_2000": lambda T, g: T.randperm(2000, generator=g),
    "multinomial_1d_one": lambda T, g: T.multinomial(T.tensor([0.1, 0.0, 0.5, 0.4]), 1, generator=g),
    "multinomial_1d_norepl": lambda T, g: T.multinomial(T.tensor([0.1, 0.2, 0.5, 0.4, 0.3]), 4, generator=g),
    "multinomial_1d_repl": lambda T, g: T.multinomial(T.tensor([0.1, 0.0, 0.5, 0.4]), 50, True, generator=g),
    "multinomial_2d_repl": lambda T, g: T.multinomial(T.arange(1.0, 28.0).reshape(3, 9) ** 2, 17, replacement=True,
                                                      generator=g),
    "multinomial_2d_norepl": lambda T, g: T.multinomial(T.arange(1.0, 28.0).reshape(3, 9), 9, generator=g),
    "multinomial_f64": lambda T, g: T.multinomial(T.tensor([[1.0, 2.0, 3.0]], dtype=T.float64), 5, True,
                                                  generator=g),
    "normal_tt": lambda T, g: T.normal(T.arange(20.0), T.arange(20.0) / 10, generator=g),
    "normal_tf": lambda T, g: T.normal(T.ones(3, 7), 2.5, generator=g),
    "normal_ft": lambda T, g: T.normal(-1.0, T.full((5,), 0.5), generator=g),
    "normal_ffsize": lambda T, g: T.normal(2.0, 3.0, (33,), generator=g),
    "normal_": lambda T, g: T.empty(97).normal_(1.5, 0.25, generator=g),
    "normal_f64_": lambda T, g: T.empty(40, dtype=T.float64).normal_(-2.0, 3.0, generator=g),
    "normal_strided": lambda T, g: T.zeros(9, 5).t().normal_(generator=g),
    "uniform_": lambda T, g: T.empty(97).uniform_(-2.5, 0.75, generator=g),
    "uniform_f64_": lambda T, g: T.empty(33, dtype=T.float64).uniform_(-1.5, 0.3, generator=g),
    "uniform_strided": lambda T, g: T.zeros(6, 4).t().uniform_(generator=g),
    "bernoulli": lambda T, g: T.bernoulli(T.linspace(0, 1, 97), generator=g),
    "bernoulli_f64": lambda T, g: T.bernoulli(T.full((5, 7), 0.3, dtype=T.float64), generator=g),
    "bernoulli_p": lambda T, g: T.bernoulli(T.zeros(40), 0.25, generator=g),
    "bernoulli_": lambda T, g: T.zeros(40, dtype=T.int64).bernoulli_(0.6, generator=g),
    "bernoulli_tensor_p": lambda T, g: T.zeros(4, 6).bernoulli_(T.linspace(0, 1, 6), generator=g),
    "exponential_": lambda T, g: T.empty(97).exponential_(2.5, generator=g),
    "random_": lambda T, g: T.empty(20, dtype=T.int64).random_(generator=g),
    "random_float": lambda T, g: T.empty(20).random_(generator=g),
    "random_to": lambda T, g: T.empty(20, dtype=T.int32).random_(7, generator=g),
    "random_from_to": lambda T, g: T.empty(20, dtype=T.int16).random_(-5, 5, generator=g),
    "rand_like": lambda T, g: T.rand_like(T.zeros(3, 4, dtype=T.float64), generator=g),
}


def _same(a, b):
    a, b = a.numpy(), b.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


# Large draws (the vectorized transforms at full size), and each path's edge: the 64-bit words of
# randint from a range of 2**28, random_() of each integer width, small normals with mean and std.
LARGE_CASES = {
    "randn": lambda T, g: T.randn(100_003, generator=g),
    "randn_f64": lambda T, g: T.randn(50_001, dtype=T.float64, generator=g),
    "normal_2d": lambda T, g: T.empty(301, 299).normal_(0.5, 2.0, generator=g),
    "normal_f64_2d": lambda T, g: T.empty(201, 99, dtype=T.float64).normal_(-1.0, 0.3, generator=g),
    "normal_small_mean_std": lambda T, g: T.empty(7).normal_(1.5, 0.3, generator=g),
    "normal_small_std": lambda T, g: T.empty(5, dtype=T.float64).normal_(0.0, 3.0, generator=g),
    "rand": lambda T, g: T.rand(100_000, generator=g),
    "uniform_": lambda T, g: T.empty(100_000).uniform_(-3.0, 7.0, generator=g),
    "exponential_": lambda T, g: T.empty(100_000).exponential_(1.5, generator=g),
    "exponential_f64": lambda T, g: T.empty(50_000, dtype=T.float64).exponential_(generator=g),
    "randint": lambda T, g: T.randint(-5, 12_345, (100_000,), generator=g),
    "randint_below_2_28": lambda T, g: T.randint(-3, 2**28 - 4, (999,), generator=g),
    "randint_2_28": lambda T, g: T.randint(-3, 2**28 - 3, (999,), generator=g),
    "randint_2_31": lambda T, g: T.randint(0, 2**31 - 1, (999,), dtype=T.int32, generator=g),
    "random_int8": lambda T, g: T.empty(999, dtype=T.int8).random_(generator=g),
    "random_uint8": lambda T, g: T.empty(999, dtype=T.uint8).random_(generator=g),
    "random_int16": lambda T, g: T.empty(999, dtype=T.int16).random_(generator=g),
    "random_int32": lambda T, g: T.empty(999, dtype=T.int32).random_(generator=g),
    "random_int64": lambda T, g: T.empty(999, dtype=T.int64).random_(generator=g),
    "random_bool": lambda T, g: T.empty(999, dtype=T.bool).random_(generator=g),
    "randperm": lambda T, g: T.randperm(30_000, generator=g),
    "randperm_1024": lambda T, g: T.randperm(1024, generator=g),
    "bernoulli_": lambda T, g: T.empty(100_000).bernoulli_(0.3, generator=g),
}


def test_cpu_large_draws_equal_torch(torch, monkeypatch):
    """The large cases from one Generator each, then in sequence from one (same state after); and
    with the C library's functions called per element through math (the fallback where NumPy does
    not reach them at C speed) the same numbers."""
    from tritongrad import _cpu_random

    g, tgen = tg.Generator().manual_seed(SEEDS[3]), torch.Generator().manual_seed(SEEDS[3])
    for case in LARGE_CASES.values():
        ours = case(tg, tg.Generator().manual_seed(SEEDS[1]))
        _same(ours, case(torch, torch.Generator().manual_seed(SEEDS[1])))
        _same(case(tg, g), case(torch, tgen))
    np.testing.assert_array_equal(g.get_state().numpy(), tgen.get_state().numpy())
    for name in ("log", "log1p", "cos", "sin"):
        monkeypatch.setitem(_cpu_random._libm_checked, name, False)
    for name in ("randn_f64", "exponential_"):
        case = LARGE_CASES[name]
        _same(case(tg, tg.Generator().manual_seed(SEEDS[2])), case(torch, torch.Generator().manual_seed(SEEDS[2])))


@pytest.mark.parametrize("seed", SEEDS[1:3])
def test_cpu_stream_equals_torch(torch, seed):
    """Every case, drawn from a fresh Generator of each library, gives torch's numbers exactly; then
    all cases in sequence from one Generator (the stream positions and the normal cache agree)."""
    for case in CASES.values():
        _same(case(tg, tg.Generator().manual_seed(seed)), case(torch, torch.Generator().manual_seed(seed)))
    g, tgen = tg.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    for case in CASES.values():
        _same(case(tg, g), case(torch, tgen))
    np.testing.assert_array_equal(g.get_state().numpy(), tgen.get_state().numpy())


def test_default_generator_equals_torch(torch):
    """manual_seed seeds the default CPU generator as torch's: rand, randn, nn.Linear's init, dropout."""
    for seed in SEEDS:
        tg.manual_seed(seed)
        torch.manual_seed(seed)
        _same(tg.randn(5, 7), torch.randn(5, 7))
        _same(tg.rand(3), torch.rand(3))
        a, b = tg.nn.Linear(13, 7), torch.nn.Linear(13, 7)
        _same(a.weight.detach(), b.weight.detach())
        _same(a.bias.detach(), b.bias.detach())
        x = np.random.default_rng(seed).random((9, 11), np.float32) + 0.5
        _same(tg.nn.functional.dropout(tg.tensor(x), 0.3), torch.nn.functional.dropout(torch.tensor(x), 0.3))
        np.testing.assert_array_equal(tg.get_rng_state().numpy(), torch.get_rng_state().numpy())
    assert tg.initial_seed() == torch.initial_seed() == SEEDS[-1]


def test_generator_state(torch):
    """get_state is torch's uint8 state byte for byte; each library loads the other's; replay works."""
    g, tgen = tg.Generator(), torch.Generator()
    assert g.initial_seed() == tgen.initial_seed() == 67280421310721
    np.testing.assert_array_equal(g.get_state().numpy(), tgen.get_state().numpy())
    g.manual_seed(-3)
    tgen.manual_seed(-3)
    assert g.initial_seed() == tgen.initial_seed() == 2**64 - 3
    for draw in (lambda T, gen: T.randn(3, generator=gen), lambda T, gen: T.rand(700, generator=gen)):
        draw(tg, g), draw(torch, tgen)
        state = g.get_state()
        assert state.dtype == tg.uint8 and state.shape == (5056,)
        np.testing.assert_array_equal(state.numpy(), tgen.get_state().numpy())
    # the cached second normal travels with the state: randn(1) leaves one
    tg.randn(1, generator=g), torch.randn(1, generator=tgen)
    mine = tg.Generator().set_state(tg.tensor(tgen.get_state().numpy()))
    theirs = torch.Generator()
    theirs.set_state(torch.tensor(g.get_state().numpy()))
    _same(tg.randn(5, generator=mine), torch.randn(5, generator=theirs))
    saved = g.get_state()
    first = tg.randn(20, generator=g)
    _same(tg.randn(20, generator=g.set_state(saved)), first)


def test_generator_api_and_errors(torch):
    g = tg.Generator(device="cpu")
    assert g.device == tg.device("cpu") and isinstance(g, tg.Generator)
    assert g.manual_seed(5) is g
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2**53 and g.initial_seed() == s
    s = tg.seed()
    assert tg.initial_seed() == s
    calls = [
        lambda T: T.Generator().manual_seed(1.5),
        lambda T: T.Generator().manual_seed("a"),
        lambda T: T.Generator().manual_seed(2**64),
        lambda T: T.Generator().set_state(T.zeros(5)),
        lambda T: T.Generator().set_state(T.zeros(5, dtype=T.uint8)),
        lambda T: T.Generator().set_state([1]),
    ]
    for call in calls:
        same_error(call, torch)
    with pytest.raises(TypeError, match="generator must be a tritongrad.Generator"):
        tg.rand(3, generator=np.random.default_rng(0))




ERRORS = [
    lambda T: T.multinomial(T.tensor([1.0, -1.0]), 1),
    lambda T: T.multinomial(T.tensor([1.0, -1.0]), 2, True),
    lambda T: T.multinomial(T.tensor([0.0, 0.0]), 1),
    lambda T: T.multinomial(T.tensor([[1.0, 1.0], [0.0, 0.0]]), 2, True),
    lambda T: T.multinomial(T.tensor([1.0, math.inf]), 2, True),
    lambda T: T.multinomial(T.tensor([1.0, math.nan]), 1),
    lambda T: T.multinomial(T.tensor([1.0, math.nan]), 2, True),
    lambda T: T.multinomial(T.tensor([1.0, 2.0]), 3),
    lambda T: T.multinomial(T.tensor([1.0, 2.0]), 0),
    lambda T: T.multinomial(T.tensor(1.0), 1),
    lambda T: T.multinomial(T.ones(2, 2, 2), 1),
    lambda T: T.multinomial(T.tensor([1, 2]), 1),
    lambda T: T.randint(5, 3, (2,)),
    lambda T: T.randperm(-1),
    lambda T: T.normal(0.0, -1.0, (3,)),
    lambda T: T.normal(T.zeros(3), T.tensor([1.0, -1.0, 1.0])),
    lambda T: T.bernoulli(T.tensor([0.5, 2.0])),
    lambda T: T.bernoulli(T.tensor([1, 0])),
    lambda T: T.zeros(3).bernoulli_(1.5),
    lambda T: T.zeros(3).uniform_(2, 1),
    lambda T: T.zeros(3).normal_(0, -1),
    lambda T: T.zeros(3).exponential_(-1),
    lambda T: T.zeros(3).exponential_(0),
    lambda T: T.zeros(3, dtype=T.long).exponential_(),
    lambda T: T.zeros(3, dtype=T.long).uniform_(),
    lambda T: T.zeros(3, dtype=T.long).normal_(),
    lambda T: T.zeros(3).random_(5, 3),
    lambda T: T.zeros(3, dtype=T.uint8).random_(0, 300),
    lambda T: T.rand(3, dtype=T.long),
    lambda T: T.randn(3, dtype=T.long),
    lambda T: T.ones(3, requires_grad=True).uniform_(),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_as_torch(torch, i):
    same_error(ERRORS[i], torch)


def test_generator_device_checks(device):
    other = "cuda" if device == "cpu" else "cpu"
    with pytest.raises(RuntimeError, match=f"Expected a '{device}' device type for generator but found '{other}'"):
        tg.rand(3, device=device, generator=tg.Generator(other))


# --- CUDA (and the CPU too): distributions, not values ----------------------------------------------

def test_distributions(device):
    """Moments and ranges of every sampler; with a generator, a seed replays its numbers."""
    g = tg.Generator(device).manual_seed(11)
    n = 4096
    u = tg.rand(n, device=device, generator=g).cpu().numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.03 and abs(u.var() - 1 / 12) < 0.01
    z = tg.randn(n, dtype=tg.float64, device=device, generator=g).cpu().numpy()
    assert abs(z.mean()) < 0.06 and abs(z.std() - 1) < 0.05
    x = tg.empty(n, device=device).normal_(3.0, 0.5, generator=g).cpu().numpy()
    assert abs(x.mean() - 3) < 0.03 and abs(x.std() - 0.5) < 0.03
    x = tg.empty(n, device=device).uniform_(-2.0, 3.0, generator=g).cpu().numpy()
    assert -2 <= x.min() and x.max() < 3 and abs(x.mean() - 0.5) < 0.15
    x = tg.empty(n, device=device).exponential_(2.0, generator=g).cpu().numpy()
    assert x.min() >= 0 and abs(x.mean() - 0.5) < 0.03
    k = tg.randint(-3, 4, (n,), device=device, generator=g)
    assert k.dtype == tg.int64 and set(np.unique(k.cpu().numpy())) == set(range(-3, 4))
    w = tg.randint(0, 2**40, (64,), device=device, generator=g).cpu().numpy()
    assert w.min() >= 0 and w.max() < 2**40 and w.max() > 2**32
    b = tg.bernoulli(tg.full((n,), 0.3, device=device), generator=g).cpu().numpy()
    assert set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.3) < 0.03
    b = tg.zeros(n, device=device).bernoulli_(tg.tensor(np.tile([0.0, 1.0], n // 2), device=device),
                                                    generator=g)
    np.testing.assert_array_equal(b.cpu().numpy(), np.tile([0.0, 1.0], n // 2))
    r = tg.empty(64, dtype=tg.int64, device=device).random_(5, 9, generator=g).cpu().numpy()
    assert r.min() >= 5 and r.max() < 9
    p = tg.randperm(97, device=device, generator=g)
    assert p.dtype == tg.int64 and sorted(p.cpu().numpy().tolist()) == list(range(97))
    a = tg.randn(33, device=device, generator=g.manual_seed(5)).cpu().numpy()
    np.testing.assert_array_equal(a, tg.randn(33, device=device, generator=g.manual_seed(5)).cpu().numpy())
    assert not np.array_equal(a, tg.randn(33, device=device, generator=g).cpu().numpy())


def test_multinomial_distribution(device):
    g = tg.Generator(device).manual_seed(3)
    w = tg.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 0.0]], device=device)
    draws = tg.multinomial(w, 2000, replacement=True, generator=g)
    assert draws.dtype == tg.int64 and draws.shape == (2, 2000)
    freq = np.stack([np.bincount(r, minlength=4) / 2000 for r in draws.cpu().numpy()])
    expect = w.cpu().numpy() / w.cpu().numpy().sum(1, keepdims=True)
    np.testing.assert_allclose(freq, expect, atol=0.04)
    assert freq[0, 1] == 0 and freq[1, 3] == 0  # zero weight: never drawn
    for _ in range(5):  # without replacement: distinct, positive weights first
        rows = tg.multinomial(w, 4, generator=g).cpu().numpy()
        assert all(len(set(r)) == 4 for r in rows)
        assert set(rows[0][:3]) == {0, 2, 3} and rows[1][3] == 3
    one = tg.multinomial(tg.tensor([0.0, 0.0, 5.0], device=device), 1, generator=g)
    assert one.shape == (1,) and one.item() == 2
    big = tg.multinomial(tg.rand(97, device=device, generator=g), 97, generator=g).cpu().numpy()
    assert sorted(big.tolist()) == list(range(97))


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_cuda_generator_state():
    g = tg.Generator("cuda").manual_seed(9)
    tg.rand(10, device="cuda", generator=g)
    state = g.get_state()
    assert state.dtype == tg.uint8 and state.shape == (16,)
    a = tg.randn(40, device="cuda", generator=g).cpu().numpy()
    np.testing.assert_array_equal(tg.randn(40, device="cuda", generator=g.set_state(state)).cpu().numpy(), a)
    tg.manual_seed(4)  # seeds the CUDA default generator too
    b = tg.rand(8, device="cuda").cpu().numpy()
    tg.manual_seed(4)
    np.testing.assert_array_equal(tg.rand(8, device="cuda").cpu().numpy(), b)


def test_data_shuffling_equals_torch(torch):
    """DataLoader(shuffle=True) after manual_seed(s), or with generator=, and random_split draw
    PyTorch's orders (its sampler seeds a fresh generator from the default one each epoch)."""
    from torch.utils import data as tdata

    from tritongrad.utils import data as gdata

    x = np.arange(23)
    for seed in (0, 3):
        tg.manual_seed(seed)
        torch.manual_seed(seed)
        ours = [b[0].tolist() for _ in range(2) for b in gdata.DataLoader(gdata.TensorDataset(tg.tensor(x)), 5, True)]
        theirs = [b[0].tolist() for _ in range(2) for b in tdata.DataLoader(tdata.TensorDataset(torch.tensor(x)), 5,
                                                                            True)]
        assert ours == theirs
        _same(tg.rand(3), torch.rand(3))  # and the default generators are still in step
        g, tgen = tg.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        ours = [b[0].tolist() for b in gdata.DataLoader(gdata.TensorDataset(tg.tensor(x)), 4, True, generator=g)]
        theirs = [b[0].tolist() for b in tdata.DataLoader(tdata.TensorDataset(torch.tensor(x)), 4, True,
                                                           generator=tgen)]
        assert ours == theirs
        ours = gdata.random_split(range(10), [0.3, 0.7], generator=tg.Generator().manual_seed(seed))
        theirs = tdata.random_split(range(10), [0.3, 0.7], generator=torch.Generator().manual_seed(seed))
        assert [s.indices for s in ours] == [s.indices for s in theirs]


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_torch_cuda_seeding_functions():
    tg.cuda.manual_seed_all(12)
    assert tg.cuda.initial_seed() == 12
    state = tg.cuda.get_rng_state()
    a = tg.randn(20, device="cuda").cpu().numpy()
    tg.cuda.set_rng_state(state)
    np.testing.assert_array_equal(tg.randn(20, device="cuda").cpu().numpy(), a)
    tg.cuda.seed()
    assert 0 <= tg.cuda.initial_seed() < 2**53
