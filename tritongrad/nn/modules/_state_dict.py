"""Module's state dict: `state_dict()`, `load_state_dict()` and the per-module loading step
`_load_from_state_dict` (which subclasses may override, as in PyTorch). Module's methods call these."""
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: the keys it did not find and the keys it did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def state_dict(module, args, destination, prefix, keep_vars):
    """Module.state_dict: `args` is PyTorch's deprecated positional form (destination, prefix, keep_vars)."""
    if args:  # NOTE: PyTorch's deprecated positional form state_dict(destination, prefix, keep_vars)
        destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
    if destination is None:
        destination = OrderedDict()
    for name, p in module._parameters.items():
        if p is not None:
            destination[prefix + name] = p if keep_vars else p.detach()
    for name, b in module._buffers.items():
        if b is not None and name not in module._non_persistent_buffers_set:
            destination[prefix + name] = b if keep_vars else b.detach()
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
    return destination


def load_own(module, state_dict, prefix, missing, unexpected, errors, assign):
    """Module._load_from_state_dict: load this module's own parameters and persistent buffers; note the
    missing and unexpected keys under `prefix`, and the errors."""
    local = {k: v for k, v in module._parameters.items() if v is not None}
    local.update((k, v) for k, v in module._buffers.items()
                 if v is not None and k not in module._non_persistent_buffers_set)
    for name, param in local.items():
        key = prefix + name
        if key not in state_dict:
            missing.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, Tensor):
            errors.append(f'While copying the parameter named "{key}", expected tritongrad.Tensor or Tensor-like '
                          f"object from checkpoint but received {type(value)}")
            continue
        if value.shape != param.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                          f"the shape in current model is {param.shape}.")
            continue
        try:
            with no_grad():
                if not assign:
                    param.copy_(value)
                elif isinstance(param, Parameter):
                    setattr(module, name, Parameter(value, requires_grad=param.requires_grad))
                else:
                    setattr(module, name, value)
        except Exception as ex:
            errors.append(f'While copying the parameter named "{key}", whose dimensions in the model are '
                          f"{param.size()} and whose dimensions in the checkpoint are {value.size()}, an "
                          f"exception occurred : {ex.args}.")
    for key in state_dict:
        if key.startswith(prefix):
            first = key[len(prefix):].split(".", 1)[0]
            if first not in module._modules and first not in local:
                unexpected.append(key)


def load_state_dict(module, state_dict, strict, assign):
    """Module.load_state_dict: every module's _load_from_state_dict, then PyTorch's errors."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing, unexpected, errors = [], [], []

    def load(m, prefix):
        m._load_from_state_dict(state_dict, prefix, missing, unexpected, errors, assign)
        for name, child in m._modules.items():
            if child is not None:
                load(child, prefix + name + ".")

    load(module, "")
    if strict:
        if unexpected:
            keys = ", ".join(f'"{k}"' for k in unexpected)
            errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
        if missing:
            keys = ", ".join(f'"{k}"' for k in missing)
            errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(module._get_name(),
                                                                                 "\n\t".join(errors)))
    return _IncompatibleKeys(missing, unexpected)
