"""dtypes and type promotion, as PyTorch names and orders them."""
import numpy as np


class dtype:
    """A tensor element type. `np` is the NumPy dtype its storage uses on the host.

    bfloat16 has no NumPy dtype: it is stored as uint16 bit patterns (the top half of a float32),
    and `str()` of the storage dtype is what Triton reads ('bfloat16' -> bf16).
    """

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_kind")

    def __init__(self, name, np_dtype, kind):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = kind == 2
        self.is_signed = name != "bool"
        self._kind = kind  # 0 bool, 1 integer, 2 floating point: the promotion category

    def __repr__(self):
        return f"tritongrad.{self.name}"

    def __reduce__(self):
        return self.name

    def to_real(self):
        return self

    @property
    def is_complex(self):
        return False


float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
float16 = dtype("float16", np.float16, 2)
bfloat16 = dtype("bfloat16", np.uint16, 2)
int64 = dtype("int64", np.int64, 1)
int32 = dtype("int32", np.int32, 1)
int16 = dtype("int16", np.int16, 1)
int8 = dtype("int8", np.int8, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool_ = dtype("bool", np.bool_, 0)

ALL = (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_)
_FROM_NP = {d.np: d for d in ALL if d is not bfloat16}
_DEFAULT = [float32]


def get_default_dtype():
    return _DEFAULT[0]


def set_default_dtype(d):
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _DEFAULT[0] = d


def from_numpy_dtype(np_dtype):
    """The tritongrad dtype of a NumPy dtype, or a TypeError naming it."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


# Within a category, the wider type wins; float16 with bfloat16 gives float32 (as in PyTorch).
_RANK = {bool_: 0, uint8: 1, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, bfloat16: 5, float32: 6,
         float64: 7}


def promote_types(a, b):
    """torch.promote_types for the dtypes we have."""
    if a is b:
        return a
    if a._kind != b._kind:
        return a if a._kind > b._kind else b
    if {a, b} == {float16, bfloat16}:
        return float32
    if {a, b} == {uint8, int8}:
        return int16
    return a if _RANK[a] >= _RANK[b] else b


def scalar_kind(x):
    """Promotion category of a Python scalar (bool, int, float)."""
    if isinstance(x, bool):
        return 0
    if isinstance(x, (int, np.integer)):
        return 1
    return 2


def result_type_scalar(t, x):
    """dtype of `tensor op scalar`: the scalar only wins when it is of a higher category."""
    k = scalar_kind(x)
    if k <= t._kind:
        return t
    return get_default_dtype() if k == 2 else int64


# The legacy type names PyTorch prints, e.g. in tensor.type() and in version-counter errors.
TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
