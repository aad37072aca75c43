"""Random number state: one generator per device, both seeded by manual_seed.

The CPU draws from NumPy's Philox; CUDA kernels run Triton's Philox with (seed, offset), each
draw advancing the offset so that no two draws reuse a counter. The two devices give different
numbers for the same seed, as in PyTorch.
"""
import numpy as np

_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed


class Generator:
    """A seedable random state for one device: `.np` for the CPU, `(seed, offset)` for CUDA."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed < 0x1_0000_0000_0000_0000:
            raise RuntimeError(f"Overflow when unpacking long long: seed {seed} out of range")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self.np = np.random.Generator(np.random.Philox(self._seed))
        self.offset = 0
        return self

    def initial_seed(self):
        return self._seed

    @property
    def seed(self):
        """The 32-bit Philox key the CUDA kernels use."""
        return self._seed & 0xFFFF_FFFF

    def take_offset(self, n):
        """Reserve `n` counters: returns the offset to start from."""
        start = self.offset
        self.offset += int(n)
        return start

    def get_state(self):
        return {"seed": self._seed, "np": self.np.bit_generator.state, "offset": self.offset}

    def set_state(self, state):
        self._seed, self.offset = state["seed"], state["offset"]
        self.np = np.random.Generator(np.random.Philox(self._seed))
        self.np.bit_generator.state = state["np"]


default_generator = Generator("cpu")
cuda_generator = Generator("cuda")


def manual_seed(seed):
    """Seed every device's generator; returns the CPU generator, as torch.manual_seed."""
    cuda_generator.manual_seed(seed)
    return default_generator.manual_seed(seed)


def initial_seed():
    return default_generator.initial_seed()


def generator_for(device_type):
    return default_generator if device_type == "cpu" else cuda_generator
