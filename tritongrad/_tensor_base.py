"""TensorBase: what the layers below tensor.py (autograd/, ops/) know of the Tensor class.

They test arguments with `isinstance(x, TensorBase)` and make new tensors with an existing tensor's
`_make`, so that none of them needs tensor.Tensor itself (which is built on them).
"""


class TensorBase:
    __slots__ = ()
