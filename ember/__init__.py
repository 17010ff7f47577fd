"""ember: a deep learning framework with PyTorch's API, built on NumPy (and CuPy on GPUs).

``import ember as torch`` runs ordinary PyTorch training scripts.
"""
from __future__ import annotations

import math as _math
import warnings as _warnings

# Like PyTorch, ops give inf/nan silently; NumPy's floating-point warnings raised
# inside ember's own code are noise to a user (and filtering costs nothing per op).
_warnings.filterwarnings(
    "ignore", category=RuntimeWarning, module=r"ember(\.|$)",
    message=r"(divide by zero|invalid value|overflow|underflow) encountered")

from ._tensor import Size, Tensor
from ._tensor_types import *  # noqa: F401,F403  (FloatTensor, LongTensor, ...)
from .backend import dtypes as _dtypes
from .backend.device import device, get_default_device, set_default_device
from ._layout import (
    channels_last, channels_last_3d, contiguous_format, layout, memory_format, preserve_format, sparse_coo,
    strided,
)
from ._defaults import (
    are_deterministic_algorithms_enabled, get_deterministic_debug_mode, get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled, set_deterministic_debug_mode,
    set_float32_matmul_precision, use_deterministic_algorithms,
)
from .backend.dtypes import (
    bfloat16, bool_ as bool, cdouble, cfloat, complex64, complex128, double, dtype, finfo, float, float16,
    float32, float64, get_default_dtype, half, int,
    int8, int16, int32, int64, long, promote_types, set_default_dtype, short, uint8,
)
from .backend.random import (
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state,
)
from .backend.threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from . import ops as _ops  # binds Tensor methods and operators
from .ops.creation import *  # noqa: F401,F403
from .ops.elementwise import *  # noqa: F401,F403
from .ops.math import *  # noqa: F401,F403
from .ops.binary import *  # noqa: F401,F403
from .ops.reduce import *  # noqa: F401,F403
from .ops.moments import *  # noqa: F401,F403
from .ops.cumulative import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .ops.join import *  # noqa: F401,F403
from .ops.indexing import *  # noqa: F401,F403
from .ops.scatter import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.sort import *  # noqa: F401,F403
from .ops.activation import *  # noqa: F401,F403
from .ops.distance import cosine_similarity, pairwise_distance  # noqa: F401
from .ops.pdist import pdist  # noqa: F401
from .ops.ctc import ctc_loss  # noqa: F401
from .ops.padding import *  # noqa: F401,F403
from .ops.norm import group_norm, layer_norm, rms_norm  # noqa: F401
from .ops.resample import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: F401
from .ops.conv import *  # noqa: F401,F403
from .ops.pool import adaptive_avg_pool1d, avg_pool1d, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool3d  # noqa: F401
from .ops.complex import *  # noqa: F401,F403
from .ops.special import *  # noqa: F401,F403  (lgamma, digamma, polygamma, mvlgamma, i0, sinc, igamma, ...)
from . import linalg
from .linalg.legacy import *  # noqa: F401,F403  (det, logdet, slogdet, inverse, pinverse, cholesky, qr, svd, ...)
from . import accelerator, backends, cuda
from . import amp, cpu
from .amp import (autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled,  # noqa: F401
                  set_autocast_dtype, set_autocast_enabled)
from . import utils
from .serialization import load, save
from . import nn
from . import optim
from . import distributions
from . import distributed  # mpi4py is imported only when a process group is made
from . import io, onnx
from . import hub, multiprocessing  # multiprocessing binds Tensor.share_memory_ / is_shared
from . import functional, jit, profiler, random, testing
from . import compiler, _dynamo
from .compiler import compile  # noqa: A001  (torch.compile's place)
from . import func
from .func import vmap  # noqa: F401
from . import special
from . import fft
from .functional import block_diag, cartesian_prod, cdist, chain_matmul, meshgrid  # noqa: F401
from ._summary import summary

__version__ = "0.1.0"

# PyTorch's numeric constants (torch.pi, torch.e, torch.inf, torch.nan)
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()
