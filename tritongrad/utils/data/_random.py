"""The random draws of samplers and random_split, from a generator or tritongrad's global one.

A generator is tritongrad's (an object whose `.np` is its NumPy random state, as
tritongrad.random.Generator) or a numpy.random.Generator; None means tritongrad's default CPU
generator, so that tritongrad.manual_seed(s) makes shuffling reproducible. Once the core has
tritongrad.randperm (issue 15 item 4), that public function draws the permutations instead.
"""
import numpy as np


def _numpy_rng(generator):
    if generator is None:
        from ...random import default_generator

        return default_generator.np  # NOTE: read at each draw: manual_seed replaces it
    if isinstance(generator, np.random.Generator):
        return generator
    device = str(getattr(generator, "device", "cpu"))
    if device != "cpu":
        raise RuntimeError(f"Expected a 'cpu' device type for generator but found '{device}'")
    rng = getattr(generator, "np", None)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"generator must be a tritongrad Generator or a numpy.random.Generator, not "
                        f"{type(generator).__name__}")
    return rng


def randperm(n, generator=None):
    """A random permutation of range(n), as a list of ints."""
    import tritongrad

    if hasattr(tritongrad, "randperm") and not isinstance(generator, np.random.Generator):
        return tritongrad.randperm(n, generator=generator).tolist()
    return _numpy_rng(generator).permutation(n).tolist()


def randint(n, size, generator=None):
    """`size` ints uniform in [0, n), as a list."""
    return _numpy_rng(generator).integers(0, n, size=size).tolist()
