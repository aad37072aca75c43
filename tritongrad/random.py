"""Random number state: torch.Generator, one default generator per device, manual_seed and seed.

The CPU generator is PyTorch's: mt19937 seeded with the seed's low 32 bits, drawn by the
transforms of _cpu_random.py, so that a program seeded the same way gets torch's CPU numbers bit
for bit. The CUDA generator is (seed, offset) for Triton's Philox (kernels/random.py): element i of
a draw uses counter offset + i, and each draw advances the offset. CUDA numbers differ from CPU
numbers for the same seed, as in PyTorch.
"""
import secrets
import struct

import numpy as np

from ._device import device as _device

_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed
_N = 624  # mt19937's state words
# CPUGeneratorImplState (CPUGeneratorImpl.cpp): seed, left, seeded, next, state[624] as uint64,
# normal_x, normal_y, normal_rho, normal_is_valid; then the float normal cache and its flag.
_CPU_STATE = struct.Struct(f"<QiiQ{_N}QdddI4xf?3x")
_CUDA_STATE = struct.Struct("<Qq")  # seed, Philox offset


class Generator:
    """A random state for one device: torch.Generator(device='cpu').

    Example:
        >>> g = tritongrad.Generator().manual_seed(2147483647)
        >>> tritongrad.randn(3, generator=g)  # torch.randn(3, generator=g)'s numbers
    """

    def __init__(self, device="cpu"):
        d = _device(device)
        self.device = d
        self._cpu = d.type == "cpu"
        if self._cpu:
            self._mt = np.random.MT19937()
        self.manual_seed(_DEFAULT_SEED)

    def __repr__(self):
        return f"<tritongrad.Generator object at {id(self):#x}>"

    def manual_seed(self, seed):
        """Seed this generator (an int; negative ones wrap to 64 bits); returns it."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed < 0x1_0000_0000_0000_0000:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        if self._cpu:
            self._mt._legacy_seeding(self._seed & 0xFFFF_FFFF)
            self._fresh = True  # NOTE: mt19937's `next` index is 0 until the first draw (get_state's bytes)
            self._normal_cache = None  # the second normal of the last scalar Box-Muller pair
            self._float_cache = None  # torch's float normal cache: kept only to round-trip states
        else:
            self._offset = 0
        return self

    def seed(self):
        """Seed from the operating system's randomness (53 bits, as PyTorch); returns the seed."""
        s = secrets.randbits(53)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    # --- drawing ------------------------------------------------------------------------------
    def _engine(self, n):
        """n raw 32-bit mt19937 words (CPU), as uint64."""
        self._fresh = False
        return self._mt.random_raw(n) if n else np.empty(0, np.uint64)

    def _philox(self, n):
        """(32-bit key, first counter) for n Philox counters (CUDA), reserving them."""
        start = self._offset
        self._offset += int(n)
        return self._seed & 0xFFFF_FFFF, start

    # --- state --------------------------------------------------------------------------------
    def get_state(self):
        """The state as a uint8 Tensor: on the CPU PyTorch's 5056-byte CPUGeneratorImplState (a state
        taken from torch loads here and back); on CUDA 16 bytes, seed and offset."""
        from .tensor import Tensor

        if self._cpu:
            st = self._mt.state["state"]
            pos = int(st["pos"])
            left, nxt = (1, 0) if self._fresh else (_N + 1 - pos, pos)
            cache = self._normal_cache
            fcache = self._float_cache
            raw = _CPU_STATE.pack(self._seed, left, 1, nxt, *st["key"].tolist(), 0.0,
                                  0.0 if cache is None else cache, 0.0, cache is not None,
                                  0.0 if fcache is None else fcache, fcache is not None)
        else:
            raw = _CUDA_STATE.pack(self._seed, self._offset)
        return Tensor._make(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from get_state (here or PyTorch's, for the same device type); returns self."""
        from .tensor import Tensor

        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype.name != "uint8":
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = new_state.cpu()._data.tobytes()
        layout = _CPU_STATE if self._cpu else _CUDA_STATE
        if len(raw) != layout.size:
            name = "CPUGeneratorImplState" if self._cpu else "CUDA generator state"
            raise RuntimeError(f"Expected a {name} of size {layout.size} but found the input RNG state size to be "
                               f"{len(raw)}")
        if not self._cpu:
            self._seed, self._offset = layout.unpack(raw)
            return self
        seed, left, seeded, nxt, *rest = layout.unpack(raw)
        key = np.array(rest[:_N], np.uint64).astype(np.uint32)
        _x, normal_y, _rho, normal_valid, fcache, fvalid = rest[_N:]
        if not seeded or not 1 <= left <= _N or (left == 1 and nxt not in (0, _N)) or (
                left > 1 and nxt != _N + 1 - left):
            raise RuntimeError("Invalid mt19937 state")
        self._mt.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _N if left == 1 else nxt}}
        self._seed, self._fresh = seed, left == 1 and nxt == 0
        self._normal_cache = normal_y if normal_valid else None
        self._float_cache = fcache if fvalid else None
        return self


default_generator = Generator("cpu")
cuda_generator = Generator("cuda")


def manual_seed(seed):
    """Seed every device's generator; returns the CPU generator, as torch.manual_seed."""
    cuda_generator.manual_seed(seed)
    return default_generator.manual_seed(seed)


def seed():
    """Seed every device's generator from the operating system's randomness; returns the seed."""
    s = default_generator.seed()
    cuda_generator.manual_seed(s)
    return s


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    """The default CPU generator's state (a uint8 Tensor), as torch.get_rng_state."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def generator_for(device_type, generator=None):
    """`generator` checked against the device type, or that device's default generator."""
    if generator is None:
        return default_generator if device_type == "cpu" else cuda_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tritongrad.Generator, not {type(generator).__name__}")
    if generator.device.type != device_type:
        raise RuntimeError(f"Expected a '{device_type}' device type for generator but found "
                           f"'{generator.device.type}'")
    return generator
