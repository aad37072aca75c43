"""tritongrad.utils.data: datasets, samplers, DataLoader (batching, shuffling by a generator,
drop_last, collation) and random_split, against torch.utils.data where it defines the behaviour
(structure of batches, lengths, errors), on both devices."""
from collections import namedtuple

import numpy as np
import pytest

import tritongrad as tg
from tritongrad.random import Generator
from tritongrad.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    random_split,
)

Point = namedtuple("Point", ["x", "y"])


def as_numpy(obj):
    """Batches as nested NumPy / Python values, for comparing ours with PyTorch's."""
    if hasattr(obj, "detach"):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: as_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(as_numpy(v) for v in obj) if not hasattr(obj, "_fields") else tuple(map(as_numpy, obj))
    return obj


def assert_same(a, b):
    assert type(a) is type(b) or (hasattr(a, "_fields") and hasattr(b, "_fields")) or \
        (isinstance(a, np.ndarray) and isinstance(b, np.ndarray))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (1, False), (10, False), (3, True)])
def test_tensor_dataset_loader_matches_torch(torch, device, rng, batch_size, drop_last):
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 5, 10)
    ours = DataLoader(TensorDataset(tg.tensor(X, device=device), tg.tensor(y, device=device)), batch_size=batch_size,
                      drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(theirs)
    for b, tb in zip(batches, theirs):
        assert all(t.device == tg.device(device) for t in b)
        assert_same(as_numpy(b), as_numpy(tb))


def test_default_collate_matches_torch(torch):
    samples = [
        [{"a": 1.5, "b": (1, "s"), "c": np.arange(3, dtype=np.float32)}, {"a": 2.0, "b": (2, "t"),
                                                                           "c": np.ones(3, np.float32)}],
        [Point(1, 2.0), Point(3, 4.0)],
        [[True, 1], [False, 2]],
        [np.float64(1.0), np.float64(2.5)],
        [("x", 3), ("y", 4)],
    ]
    for batch in samples:
        assert_same(as_numpy(default_collate(batch)), as_numpy(torch.utils.data.default_collate(batch)))
    x = [tg.randn(2, 3), tg.randn(2, 3)]
    np.testing.assert_array_equal(default_collate(x).numpy(), np.stack([t.numpy() for t in x]))
    for bad in ([object(), object()], [np.array(["a"]), np.array(["b"])], [[1, 2], [3]]):
        with pytest.raises(Exception) as theirs:
            torch.utils.data.default_collate(bad)
        with pytest.raises(type(theirs.value)) as ours:
            default_collate(bad)
        assert str(ours.value) == str(theirs.value)


def test_collate_keeps_autograd():
    a, b = tg.randn(3, requires_grad=True), tg.randn(3, requires_grad=True)
    (default_collate([a, b]) * tg.tensor([[1.0], [2.0]])).sum().backward()
    assert a.grad.tolist() == [1.0] * 3 and b.grad.tolist() == [2.0] * 3


def test_shuffle_is_a_permutation_reproducible_by_generator_and_seed(device):
    ds = TensorDataset(tg.arange(23, device=device))

    def epoch(loader):
        return [int(i) for (b,) in loader for i in b.cpu().numpy()]

    g = Generator().manual_seed(5)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == sorted(second) == list(range(23)) and first != second  # a new order each epoch
    assert epoch(DataLoader(ds, batch_size=4, shuffle=True, generator=Generator().manual_seed(5))) == first
    assert epoch(DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(1))) != list(range(23))
    tg.manual_seed(3)
    a = epoch(DataLoader(ds, batch_size=4, shuffle=True))
    tg.manual_seed(3)
    assert epoch(DataLoader(ds, batch_size=4, shuffle=True)) == a  # the global generator, when none is given
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
        epoch(DataLoader(ds, shuffle=True, generator=Generator("cuda")))


def test_samplers_match_torch(torch):
    data = list(range(7))
    assert list(SequentialSampler(data)) == list(torch.utils.data.SequentialSampler(data))
    for bs, drop in [(3, False), (3, True), (7, True), (8, True)]:
        ours, theirs = BatchSampler(SequentialSampler(data), bs, drop), torch.utils.data.BatchSampler(
            torch.utils.data.SequentialSampler(data), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    g = Generator().manual_seed(0)
    drawn = list(RandomSampler(data, replacement=True, num_samples=70, generator=g))
    assert len(drawn) == 70 and set(drawn) <= set(data)
    more = list(RandomSampler(data, num_samples=10, generator=g))
    assert len(more) == 10 and sorted(more[:7]) == data
    assert sorted(SubsetRandomSampler([4, 9, 11], generator=g)) == [4, 9, 11]
    for make in [lambda m, d: m.RandomSampler(d, replacement=1), lambda m, d: m.RandomSampler(d, num_samples=0),
                 lambda m, d: m.BatchSampler(m.SequentialSampler(d), 0, False),
                 lambda m, d: m.BatchSampler(m.SequentialSampler(d), 2, 1)]:
        with pytest.raises(Exception) as theirs:
            make(torch.utils.data, data)
        with pytest.raises(type(theirs.value)) as ours:
            make(tg.utils.data, data)
        assert str(ours.value) == str(theirs.value)


def test_loader_options_and_errors_match_torch(torch):
    data = [float(i) for i in range(5)]
    ours = DataLoader(data, batch_size=None)
    theirs = torch.utils.data.DataLoader(data, batch_size=None)
    assert list(ours) == list(theirs) and len(ours) == len(theirs) == 5
    sampler = BatchSampler(SequentialSampler(data), 2, False)
    assert [b.tolist() for b in DataLoader(data, batch_sampler=sampler)] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert list(DataLoader(data, batch_size=2, collate_fn=lambda b: sum(b))) == [1.0, 5.0, 4.0]
    assert [b.tolist() for b in DataLoader(data, sampler=[4, 0], batch_size=2)] == [[4.0, 0.0]]
    with pytest.warns(UserWarning, match="no worker processes"):
        assert len(list(DataLoader(data, num_workers=2))) == 5
    cases = [dict(sampler=[0], shuffle=True), dict(batch_sampler=[[0]], batch_size=2), dict(batch_size=None,
             drop_last=True), dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
             dict(timeout=-1), dict(batch_size=0)]
    for kw in cases:
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.DataLoader(data, **kw)
        with pytest.raises(ValueError) as ours:
            DataLoader(data, **kw)
        assert str(ours.value) == str(theirs.value)
    loader = DataLoader(data)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3


def test_random_split_matches_torch_lengths(torch):
    ds = TensorDataset(tg.arange(10))
    for lengths in ([3, 7], [0.5, 0.3, 0.2], [0.33, 0.33, 0.34], [0.1, 0.1, 0.8], [1 / 3] * 3):
        ours = random_split(ds, lengths, generator=Generator().manual_seed(1))
        theirs = torch.utils.data.random_split(range(10), lengths)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s.indices) == list(range(10))
        assert all(isinstance(s, Subset) and s.dataset is ds for s in ours)
    again = random_split(ds, [3, 7], generator=Generator().manual_seed(1))
    assert again[0].indices == random_split(ds, [3, 7], generator=Generator().manual_seed(1))[0].indices
    assert int(again[0][1][0]) == again[0].indices[1]
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])
    for lengths in ([3, 3], [0.5, -0.5, 1.0]):
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.random_split(range(10), lengths)
        with pytest.raises(ValueError) as ours:
            random_split(range(10), lengths)
        assert str(ours.value) == str(theirs.value)


def test_datasets():
    X = tg.randn(6, 2)
    ds = TensorDataset(X, tg.arange(6))
    assert len(ds) == 6 and ds[-1][1].item() == 5 and ds[1:3][0].shape == (2, 2)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(X, tg.arange(5))
    cat = ds + TensorDataset(tg.randn(3, 2), tg.arange(3))
    assert isinstance(cat, ConcatDataset) and len(cat) == 9 and cat[7][1].item() == 1 and cat[-9][1].item() == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        cat[-10]
    sub = Subset(ds, [5, 0, 2])
    assert len(sub) == 3 and sub[0][1].item() == 5
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__."):
        Dataset()[0]

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": float(i), "y": i * i}

    batch = next(iter(DataLoader(Squares(), batch_size=5)))
    assert batch["x"].dtype is tg.float64 and batch["y"].tolist() == [0, 1, 4, 9, 16]


def test_training_loop_matches_torch(torch, device, rng):
    """A tutorial-style loop: DataLoader batches, BatchNorm1d, BCEWithLogitsLoss, clip_grad_norm_,
    RMSprop and OneCycleLR; the same weights as PyTorch's after an epoch (float64, no shuffling).

    NOTE: no bias before BatchNorm: its gradient is 0 up to rounding noise, which RMSprop's
    normalisation would amplify to 1e-9 in both frameworks, differently."""
    X, y = rng.standard_normal((12, 3)), (rng.uniform(size=(12, 1)) > 0.5).astype(np.float64)
    init = [rng.standard_normal((4, 3)) * 0.5, rng.standard_normal((1, 4)) * 0.5, rng.standard_normal(1) * 0.1]
    results = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4, bias=False), lib.nn.BatchNorm1d(4), lib.nn.SiLU(),
                                  lib.nn.Linear(4, 1)).double().to(dev)
        with lib.no_grad():
            for p, value in zip([model[0].weight, model[3].weight, model[3].bias], init):
                p.copy_(lib.tensor(value, device=dev))
        loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(X, device=dev),
                                                                        lib.tensor(y, device=dev)), batch_size=8)
        opt = lib.optim.RMSprop(model.parameters(), lr=0.05, momentum=0.5)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=len(loader))
        loss_fn = lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor([1.5], dtype=lib.float64, device=dev))
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            sched.step()
        results.append([t.detach().cpu().numpy() for t in model.state_dict().values()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
