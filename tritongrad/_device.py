"""device: where a tensor's memory lives, 'cpu' or 'cuda:0', as torch.device."""


class device:
    """tritongrad.device('cpu'), device('cuda'), device('cuda:0'), device('cuda', 0)."""

    __slots__ = ("type", "index")

    def __new__(cls, type, index=None):
        if isinstance(type, device):
            return type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string or a device, got {type.__class__.__name__}")
        name = type
        if ":" in name:
            name, _, idx = name.partition(":")
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if name == "cpu":
            index = None
        elif index is None:
            index = 0
        if index not in (None, 0):
            raise RuntimeError(f"tritongrad uses one GPU, cuda:0; got device '{type}' index {index}")
        key = (name, index)
        if key not in _CACHE:
            d = object.__new__(cls)
            object.__setattr__(d, "type", name)
            object.__setattr__(d, "index", index)
            _CACHE[key] = d
        return _CACHE[key]

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


_CACHE = {}
CPU = device("cpu")
CUDA0 = device("cuda", 0)


def parse_device(d):
    """A device from a string, an int (a CUDA index) or a device."""
    if isinstance(d, int) and not isinstance(d, bool):
        return device("cuda", d)
    return device(d)
