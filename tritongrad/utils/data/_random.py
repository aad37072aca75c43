"""The random draws of samplers and random_split, from a generator or tritongrad's global one.

A generator is a tritongrad.Generator (CPU; None means the default one, so that
tritongrad.manual_seed(s) makes shuffling reproducible) or a numpy.random.Generator.
"""
import numpy as np


def randperm(n, generator=None):
    """A random permutation of range(n), as a list of ints."""
    if isinstance(generator, np.random.Generator):
        return generator.permutation(n).tolist()
    import tritongrad

    return tritongrad.randperm(n, generator=generator).tolist()


def randint(n, size, generator=None):
    """`size` ints uniform in [0, n), as a list."""
    if isinstance(generator, np.random.Generator):
        return generator.integers(0, n, size=size).tolist()
    import tritongrad

    return tritongrad.randint(0, n, (size,), generator=generator).tolist()


def draw_seed(generator=None):
    """One int64 seed drawn as PyTorch draws it (torch.empty((), dtype=int64).random_(generator=...))."""
    import tritongrad

    return int(tritongrad.empty((), dtype=tritongrad.int64).random_(generator=generator).item())


def fresh_generator():
    """A Generator seeded from the default one, as PyTorch's RandomSampler makes one each epoch
    when it is given none (so that tritongrad.manual_seed(s) gives PyTorch's shuffling order)."""
    import tritongrad

    return tritongrad.Generator().manual_seed(draw_seed())
