"""backward() from several threads at once: leaf accumulation is locked, as PyTorch's, so no update is lost."""
import sys
import threading

import numpy as np
import pytest

import tritongrad as tg


@pytest.fixture
def fast_switching():
    """Switch threads every microsecond: a race between reading and writing .grad shows at once."""
    prev = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(prev)


@pytest.mark.parametrize("first", ["none", "zeros"])  # .grad None: the first gradient is taken; else added
def test_threads_accumulate_into_a_shared_leaf_exactly(fast_switching, first):
    rng = np.random.default_rng(3)
    n_threads, steps = 6, 15
    # NOTE: large enough that NumPy's in-place add releases the GIL, small enough to take milliseconds
    x = tg.tensor(rng.standard_normal(200_003), requires_grad=True)
    if first == "zeros":
        x.grad = tg.zeros_like(x)
    scales = rng.integers(1, 9, size=(n_threads, steps)).astype(np.float64)
    barrier = threading.Barrier(n_threads)
    errors = []

    def work(k):
        try:
            barrier.wait()
            for s in scales[k]:
                (x * float(s)).sum().backward()
        except BaseException as e:  # NOTE: re-raised in the main thread below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, scales.sum()))
