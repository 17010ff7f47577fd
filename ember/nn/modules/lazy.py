"""LazyModuleMixin: modules whose parameter shapes are inferred from the first input."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import is_lazy
from .state_dict import _as_tensor

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mix in before a Module class: its ``UninitializedParameter``s and ``UninitializedBuffer``s
    get their shapes from the first forward call (``initialize_parameters(*args)``), after which the module
    becomes ``cls_to_become`` (e.g. LazyLinear becomes Linear).

    Loading a state_dict first also materializes them, with the checkpoint's shapes.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters)

    def has_uninitialized_params(self) -> bool:
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize and initialise the parameters for inputs like ``args``."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_parameters(self, module, args) -> None:
        self.initialize_parameters(*args)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        self._initialize_hook.remove()
        del self._initialize_hook
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        for name, param in (*self._parameters.items(), *self._buffers.items()):
            key = prefix + name
            if is_lazy(param) and key in state_dict:
                value = _as_tensor(state_dict[key])
                if isinstance(value, Tensor) and not is_lazy(value):
                    with no_grad():
                        param.materialize(value.shape)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
