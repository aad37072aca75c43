"""In-place twins of out-of-place Tensor methods (`x.sigmoid_()`, `x.round_(decimals=1)`, `x.lerp_(y, w)`,
...): each is ops/inplace.twin_ around its out-of-place method, so it gets that method's argument checks
and derivative, then the in-place rules with PyTorch's messages (a leaf that requires grad, an
overlapping or expanded destination, a result larger than self or not castable to its dtype), each
before anything is written. With autograd recording, the node is the out-of-place
op's (`y.sigmoid_()` -> SigmoidBackward0), as in PyTorch.

Left out on purpose: comparisons and logical ops (`eq_`, `logical_and_`, ...), whose out-of-place results
carry no history while PyTorch's in-place ones record a zero-gradient node; and in-place view ops
(`t_`, `unsqueeze_`, ...), which change self's shape rather than its values.
"""
from .ops import inplace as I

# out-of-place name -> in-place names, all taking the out-of-place method's arguments
_TWINS = {
    "abs": ("abs_",), "acos": ("acos_", "arccos_"), "asin": ("asin_", "arcsin_"), "atan": ("atan_", "arctan_"),
    "atan2": ("atan2_", "arctan2_"), "ceil": ("ceil_",), "cos": ("cos_",), "cosh": ("cosh_",), "erf": ("erf_",),
    "exp2": ("exp2_",), "expm1": ("expm1_",), "floor": ("floor_",), "frac": ("frac_",), "log": ("log_",),
    "log10": ("log10_",), "log1p": ("log1p_",), "log2": ("log2_",), "neg": ("negative_",),
    "reciprocal": ("reciprocal_",), "round": ("round_",), "rsqrt": ("rsqrt_",), "sigmoid": ("sigmoid_",),
    "sign": ("sign_",), "sin": ("sin_",), "sinh": ("sinh_",), "square": ("square_",), "tan": ("tan_",),
    "tanh": ("tanh_",), "trunc": ("trunc_", "fix_"), "nan_to_num": ("nan_to_num_",), "cumsum": ("cumsum_",),
    "lerp": ("lerp_",), "bitwise_and": ("bitwise_and_",), "bitwise_or": ("bitwise_or_",),
    "bitwise_xor": ("bitwise_xor_",),
}


def _twin(name, inplace_name):
    def method(self, *args, **kwargs):
        tensors = [a for a in (*args, *kwargs.values()) if hasattr(a, "_data")]
        try:
            return I.twin_(self, lambda s: getattr(s, name)(*args, **kwargs), tensors)
        except TypeError as e:  # NOTE: the parser's messages name the method called, as PyTorch's do
            text = str(e)
            if not text.startswith(name + "("):
                raise
            raise TypeError(inplace_name + text[len(name):]) from None

    method.__name__ = method.__qualname__ = inplace_name
    method.__doc__ = f"In place: self = self.{name}(...), PyTorch's Tensor.{inplace_name}."
    return method


def _alias(target, name):
    def method(self, *args, **kwargs):
        return getattr(self, target)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"PyTorch's alias of Tensor.{target}."
    return method


class InplaceMethods:
    """The generated twins, and PyTorch's aliases of in-place methods TensorMath defines."""


for _name, _target in (("clip_", "clamp_"), ("divide_", "div_"), ("true_divide_", "div_"), ("multiply_", "mul_"),
                       ("subtract_", "sub_")):
    setattr(InplaceMethods, _name, _alias(_target, _name))
for _name, _names in _TWINS.items():
    for _inplace in _names:
        setattr(InplaceMethods, _inplace, _twin(_name, _inplace))
