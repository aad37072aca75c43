"""Optimizer: parameter groups, per-parameter state, zero_grad and state_dict (torch.optim.Optimizer).

Subclasses implement `_step_param(group, p, state)`, run under no_grad: either one call of a fused
backend primitive (`sgd_step`, `adam_step`: one Triton kernel per parameter on CUDA, NumPy on the
CPU) followed by version-counter bumps, or in-place Tensor ops (RMSprop, Adagrad, Adadelta).

`step` and `load_state_dict` check every parameter, gradient, state entry and hyper-parameter
before changing any: a call that raises leaves parameters and state as they were (PyTorch checks
as it goes and may leave the earlier parameters updated).
"""
import copy
import numbers
import warnings
from collections import defaultdict
from itertools import chain

from .. import _dtype as dt
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(x):
    return x.type() if isinstance(x, Tensor) else type(x).__name__


_FLOAT_INT = (float, int)


def _is_real(v):
    # NOTE: int and float first: an isinstance against the numbers.Real ABC costs about 1 us
    return (isinstance(v, _FLOAT_INT) or isinstance(v, numbers.Real)) and not isinstance(v, bool)


def _shape(t):
    return "[" + ", ".join(map(str, t.shape)) + "]"


class Optimizer:
    """Base class: holds `param_groups` (dicts with 'params' and hyper-parameters) and `state`
    (parameter -> dict of its buffers)."""

    # The state entries that have their parameter's shape (checked on load) and device (on step).
    _state_buffers = ()

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                            f"got {_typename(params)}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyper-parameters (the defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                          "an error; see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default), or to zero in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        todo = []
        for group in self.param_groups:  # NOTE: every check before the first update
            self._check_group(group)
            for p in group["params"]:
                if p.grad is not None:
                    self._check_param(p)
                    todo.append((group, p))
        with no_grad():
            for group, p in todo:
                self._step_param(group, p, self.state[p])
        return loss

    def _integral_error(self, dtype):
        """What PyTorch raises when this optimizer updates a parameter of an integral dtype."""
        return RuntimeError(f"result type Float can't be cast to the desired output type "
                            f"{dt.TYPE_NAMES[dtype.name].removesuffix('Tensor')}")

    def _check_group(self, group):
        """Hyper-parameters must be real numbers (or tuples of them) where the defaults are."""
        defaults = self.defaults
        for key, value in group.items():
            if type(value) in _FLOAT_INT:  # NOTE: the common case, first: these checks run at every step
                continue
            default = defaults.get(key)
            if isinstance(default, tuple):
                values = value if isinstance(value, tuple) else (value,)
            elif _is_real(default):
                values = (value,)
            else:
                continue
            if not all(_is_real(v) for v in values):
                raise TypeError(f"{type(self).__name__}: '{key}' must be "
                                f"{'a tuple of real numbers' if isinstance(default, tuple) else 'a real number'}, "
                                f"but got {value!r}")

    def _check_param(self, p):
        """A floating-point parameter, with a gradient of its shape, dtype and device, and buffers on its device."""
        if not p._dtype.is_floating_point:
            raise self._integral_error(p.dtype)
        g = p.grad
        if g._data.shape != p._data.shape:
            raise RuntimeError(f"a parameter of shape {_shape(p)} has a gradient of shape {_shape(g)}: the gradient "
                               "must have the parameter's shape")
        if g._dtype is not p._dtype:
            raise RuntimeError(f"a parameter of dtype {p.dtype} has a gradient of dtype {g.dtype}")
        check_state_device(p, g, "gradient")
        state = self.state.get(p)
        if state:
            for key in self._state_buffers:
                t = state.get(key)
                if t is not None:
                    check_state_device(p, t)

    def _check_state(self, p, state):
        """A loaded state entry: its buffers are tensors of the parameter's shape."""
        if not isinstance(state, dict):
            raise ValueError(f"loaded state dict has a state of type {type(state).__name__} for a parameter: a dict "
                             "is expected")
        for key in self._state_buffers:
            t = state.get(key)
            if t is not None and (not isinstance(t, Tensor) or t.shape != p.shape):
                got = _shape(t) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"loaded state dict has '{key}' of shape {got} for a parameter of shape "
                                 f"{_shape(p)}")

    def _step_param(self, group, p, state):
        raise NotImplementedError

    # --- state dict -------------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index, ...]}]}, as PyTorch:
        parameters are replaced by their position across the groups; tensors are not copied."""
        mapping, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                mapping.setdefault(id(p), len(mapping))
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state from `state_dict` (tensors copied to each parameter's
        device, floating-point ones to its dtype, except 'step'). Every group and state entry is
        checked before anything changes."""
        groups = self.param_groups
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                             "group")
        for s in saved:
            self._check_group(s)
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                with no_grad():
                    if key == "step":
                        return value.to(copy=True)  # NOTE: step stays a CPU float32 tensor, as PyTorch's
                    dtype = param.dtype if value.is_floating_point() else None
                    return value.to(device=param.device, dtype=dtype, copy=True)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                self._check_state(id_map[k], v)
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
        self.state, self.param_groups = state, saved

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


def check_state_device(p, t, what="optimizer state"):
    if t._be is not p._be:
        raise RuntimeError(f"{what} is on {t.device} but its parameter is on {p.device}: create the "
                           "optimizer (or load its state) after moving the model")


# --- the in-place updates of the optimizers written with Tensor ops, as PyTorch's kernels order them ---
def decayed_grad(group, p):
    """±grad (maximize) plus weight_decay * p: the gradient every update below starts from."""
    g = -p.grad if group["maximize"] else p.grad
    return g.add(p, alpha=group["weight_decay"]) if group["weight_decay"] != 0 else g


def addcmul_(t, a, b, value=1):
    """t += value * a * b (torch.addcmul_)."""
    return t.add_(a * value * b)


def addcdiv_(t, a, b, value=1):
    """t += value * a / b (torch.addcdiv_)."""
    return t.add_(a * value / b)


def lerp_(t, end, weight):
    """t += weight * (end - t), in PyTorch's two forms (the second for weight >= 0.5)."""
    return t.add_((end - t) * weight) if weight < 0.5 else t.copy_(end - (end - t) * (1 - weight))


def new_step():
    """The step count: a CPU float32 tensor, as in PyTorch's state_dict."""
    from .._creation import tensor

    return tensor(0.0, dtype=dt.float32)
