"""A built-in node's `_saved_<name>` attributes, as PyTorch's generated nodes have them
(`MulBackward0._saved_self`, `SumBackward1._saved_dim`, `ExpBackward0._saved_result`, ...).

Each op-table row says once, in `saved_as`, what it keeps under PyTorch's names, in the order
PyTorch saves them; `expose` turns that into read-only properties of the row's node class:

    saved_as = {"other": 1, "self": 0}            # Mul: save_for_backward(a, b); PyTorch saves other first
    saved_as = {"dim": "dims", "keepdim": "keepdim", "self_sym_sizes": "shape"}   # ctx attributes

A value is an int (a slot of the node's saved tensors; -1 is the output an op saves with
`_save_output`), a str (the ctx attribute holding that value) or a callable(node). A saved tensor is
unpacked as backward unpacks it (version check, unpack hook; the output given back its grad_fn),
and raises PyTorch's error once the graph was freed; other values stay readable, as in PyTorch.
The slots' order is also the order in which saved-tensor pack hooks see them (`_pack_order`).
"""
import numpy as np

from . import engine
from .graph import FREED


def saved_slot(node, i):
    """The tensor node keeps in slot i (None if it kept none there), as backward would unpack it."""
    if node._freed:
        raise RuntimeError(FREED)
    saved = node._saved
    if saved is None or not -len(saved) <= i < len(saved) or saved[i] is None:
        return None
    return saved[i].unpack(node)


def slot_or_number(i, attr):
    """Slot i, or when the op's operand there was a Python number (kept in ctx attribute `attr`), that
    number as PyTorch wraps it: a 0-dim CPU tensor (int64 or float64)."""

    def get(node):
        t = saved_slot(node, i)
        v = getattr(node, attr, None)
        return engine._Tensor._make(np.asarray(v)) if t is None and v is not None else t

    get.slot = i  # NOTE: a slot all the same, for the pack order
    return get


def _value(v):
    """Dims and sizes as PyTorch returns them: tuples of Python ints."""
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v)
    return v


def _property(source):
    if isinstance(source, int):
        return property(lambda node: saved_slot(node, source))
    if isinstance(source, str):
        return property(lambda node: _value(getattr(node, source)))
    return property(source)


def expose(node_cls, saved_as):
    """Give `node_cls` a `_saved_<name>` property per entry of `saved_as` (see the module docstring)."""
    for name, source in saved_as.items():
        setattr(node_cls, f"_saved_{name}", _property(source))
    slots = [s if isinstance(s, int) else getattr(s, "slot", None) for s in saved_as.values()]
    node_cls._pack_order = tuple(s for s in slots if s is not None and s >= 0)
