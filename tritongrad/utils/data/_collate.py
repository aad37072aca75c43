"""default_collate and default_convert: samples into batches, as torch.utils.data's."""
import re
from collections.abc import Mapping, Sequence

import numpy as np

from ... import _dtype as dt
from ..._creation import as_tensor, tensor
from ...tensor import Tensor
from .._compose import stack

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
_NP_STR_OBJ = re.compile(r"[SaUO]")  # NumPy string and object dtypes, which have no tensor


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_collate(batch):
    """A list of samples into a batch: tensors (and NumPy arrays) stacked along a new dim 0 on their
    device, Python floats into a float64 tensor, ints into an int64 one (bools into bool), strings
    kept as a list; dicts, tuples and lists collated field by field (a tuple becomes a list).

    Example:
        >>> default_collate([(tg.ones(2), 0), (tg.zeros(2), 1)])
        [tensor([[1., 1.], [0., 0.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch)
    if isinstance(elem, np.ndarray | np.generic) and not isinstance(elem, np.str_ | np.bytes_):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_ERR.format(elem.dtype))
        return as_tensor(np.stack(batch))  # NOTE: one host-side stack; NumPy data lives on the CPU
    if isinstance(elem, float):
        return tensor(batch, dtype=dt.float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return collated  # NOTE: PyTorch returns a list for tuples (backward compatibility)
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """One sample as a DataLoader without batching returns it: NumPy arrays become tensors, dicts,
    tuples and lists are converted field by field, everything else is kept."""
    if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str) is None:
        return as_tensor(data)
    if isinstance(data, Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
