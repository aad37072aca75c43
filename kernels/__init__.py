"""tritongrad's Triton kernels and their launch wrappers, one module per kernel family.

Installed as the subpackage `tritongrad.kernels`. Wrappers take and return
`tritongrad.cuda.array.DeviceArray`s; there is no Tensor and no autograd here.
"""
from ..cuda import _lazy_init

# NOTE: before any @triton.jit runs: in emulated mode this sets TRITON_INTERPRET=1, which Triton
# reads when a kernel is decorated, not when it is launched.
_lazy_init()
