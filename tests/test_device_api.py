"""The device and defaults API (accelerator, cuda, backends, default device, layouts, memory
formats, pinning) compared with PyTorch's CPU-only build: same values, same exception types."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, torch

# Without a GPU ember must answer as PyTorch's CPU-only build does; on a machine where CuPy
# sees a GPU these comparisons do not apply.
cpu_only = pytest.mark.skipif(ember.cuda.is_available(), reason="compares with PyTorch's CPU-only build")


def outcome(fn, lib):
    """("ok", value, warning messages) or ("raise", exception, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", fn(lib))
        except Exception as exc:  # noqa: BLE001  (the type is what is compared)
            result = ("raise", exc)
    return (*result, [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)])


def same(fn, compare_value=True, compare_warnings=True):
    """Run ``fn(ember)`` and ``fn(torch)``: both return equal values, or both raise, ember an
    instance of PyTorch's exception type."""
    e, t = outcome(fn, ember), outcome(fn, torch)
    assert e[0] == t[0], f"ember: {e[:2]}, torch: {t[:2]}"
    if e[0] == "raise":
        assert isinstance(e[1], type(t[1])), f"ember raised {type(e[1]).__name__}, torch {type(t[1]).__name__}"
    elif compare_value:
        ev, tv = e[1], t[1]
        if isinstance(tv, torch.device) or tv is None:
            assert (ev is None and tv is None) or (ev.type, ev.index) == (tv.type, tv.index), (ev, tv)
        elif isinstance(tv, torch.Tensor):
            assert_close(ev, tv)
        else:
            assert ev == tv, (ev, tv)
    if compare_warnings:
        assert len(e[2]) == len(t[2]), f"warnings: ember {e[2]}, torch {t[2]}"
    return e[1]


@pytest.fixture(autouse=True)
def _restore_defaults():
    yield
    for lib in (ember, torch):
        lib.set_default_device(None)
        lib.use_deterministic_algorithms(False)
        lib.set_float32_matmul_precision("highest")
        lib.backends.cudnn.benchmark = False
        lib.backends.cudnn.deterministic = False


# ---- ember.accelerator -----------------------------------------------------------------
@cpu_only
@pytest.mark.parametrize("call", [
    lambda m: m.accelerator.is_available(),
    lambda m: m.accelerator.current_accelerator(),
    lambda m: m.accelerator.current_accelerator(check_available=True),
    lambda m: m.accelerator.device_count(),
    lambda m: m.accelerator.current_device_index(),
    lambda m: m.accelerator.set_device_index(0),
    lambda m: m.accelerator.set_device_index(None),
    lambda m: m.accelerator.synchronize(),
    lambda m: m.accelerator.synchronize(0),
    lambda m: m.accelerator.device_index(None).__enter__() and None,
    lambda m: m.accelerator.device_index(0).__enter__(),
])
def test_accelerator_matches_cpu_build(call):
    same(call)


# ---- ember.cuda ------------------------------------------------------------------------
@cpu_only
@pytest.mark.parametrize("call", [
    lambda m: m.cuda.is_available(),
    lambda m: m.cuda.device_count(),
    lambda m: m.cuda.is_initialized(),
    lambda m: m.cuda.init(),
    lambda m: m.cuda.current_device(),
    lambda m: m.cuda.set_device(-1),
    lambda m: m.cuda.set_device("cpu"),
    lambda m: m.cuda.synchronize(),
    lambda m: m.cuda.synchronize(0),
    lambda m: m.cuda.manual_seed(1),
    lambda m: m.cuda.manual_seed_all(1),
    lambda m: m.cuda.empty_cache(),
    lambda m: m.cuda.memory_allocated(),
    lambda m: m.cuda.memory_allocated(0),
    lambda m: m.cuda.max_memory_allocated(),
    lambda m: m.cuda.memory_reserved(),
    lambda m: m.cuda.max_memory_reserved(),
    lambda m: m.cuda.get_device_name(),
    lambda m: m.cuda.get_device_name(0),
    lambda m: m.cuda.get_device_properties(0),
    lambda m: m.cuda.get_device_capability(),
    lambda m: m.cuda.is_bf16_supported(),
    lambda m: m.cuda.device(-1).__enter__() and None,
    lambda m: m.cuda.device(0).__enter__(),
    lambda m: m.zeros(2, device="cuda"),
    lambda m: m.zeros(2).cuda(),
    lambda m: m.zeros(2).to("cuda"),
    lambda m: m.nn.Linear(2, 2).cuda(),
])
def test_cuda_matches_cpu_build(call):
    same(call)


@cpu_only
def test_cuda_calls_pytorch_cpu_build_fails_on_by_accident():
    """PyTorch's CPU build raises AttributeError (a missing binding) from these; ember keeps
    the behaviour of the neighbouring calls: set_device raises as current_device does, and
    reset_peak_memory_stats does nothing, as memory_allocated reports 0."""
    with pytest.raises(AssertionError, match="CUDA"):
        ember.cuda.set_device(0)
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.cuda.set_device("cuda:0")
    assert ember.cuda.reset_peak_memory_stats() is None
    assert ember.cuda.max_memory_allocated() == torch.cuda.max_memory_allocated() == 0


@cpu_only
def test_cuda_manual_seed_leaves_the_cpu_generator_alone():
    for lib in (ember, torch):
        lib.manual_seed(3)
        first = lib.rand(3)
        lib.manual_seed(3)
        lib.cuda.manual_seed(99)
        lib.cuda.manual_seed_all(99)
        assert lib.equal(lib.rand(3), first)


# ---- ember.backends --------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.backends.cudnn.benchmark,
    lambda m: m.backends.cudnn.deterministic,
    lambda m: m.backends.cudnn.enabled,
    lambda m: m.backends.cudnn.allow_tf32,
    lambda m: m.backends.mps.is_available(),
    lambda m: m.backends.mps.is_built(),
    lambda m: m.backends.cpu.get_cpu_capability(),
    lambda m: m.backends.cuda.matmul.allow_tf32,
    lambda m: m.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
    lambda m: m.backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
])
def test_backends_defaults(call):
    same(call)


@cpu_only
@pytest.mark.parametrize("call", [
    lambda m: m.backends.cudnn.is_available(),
    lambda m: m.backends.cudnn.version(),
    lambda m: m.backends.cuda.is_built(),
])
def test_backends_queries_match_cpu_build(call):
    same(call)


def test_cudnn_switches_are_settable_and_flags_restores_them():
    for lib in (ember, torch):
        lib.backends.cudnn.benchmark = True
        lib.backends.cudnn.deterministic = True
        assert lib.backends.cudnn.benchmark is True and lib.backends.cudnn.deterministic is True
        with lib.backends.cudnn.flags(enabled=False, benchmark=False, deterministic=False):
            assert lib.backends.cudnn.enabled is False and lib.backends.cudnn.benchmark is False
        assert lib.backends.cudnn.enabled is True and lib.backends.cudnn.benchmark is True


def test_allow_tf32_and_float32_matmul_precision_are_one_setting():
    for value in (True, False):
        seen = []
        for lib in (ember, torch):
            lib.backends.cuda.matmul.allow_tf32 = value
            seen.append(lib.get_float32_matmul_precision())
        assert seen[0] == seen[1]
    for precision in ("high", "medium", "highest"):
        assert same(lambda m: (m.set_float32_matmul_precision(precision), m.get_float32_matmul_precision(),
                               m.backends.cuda.matmul.allow_tf32)) is not None


def test_float32_matmul_precision_rejects_unknown_names_with_a_warning():
    same(lambda m: (m.set_float32_matmul_precision("bad"), m.get_float32_matmul_precision()))


def test_float32_matmul_precision_leaves_matmul_results_unchanged():
    a, b = ember.randn(8, 8), ember.randn(8, 8)
    exact = (a @ b).numpy()
    ember.set_float32_matmul_precision("medium")
    np.testing.assert_array_equal((a @ b).numpy(), exact)


# ---- deterministic algorithms ----------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.are_deterministic_algorithms_enabled(),
    lambda m: (m.use_deterministic_algorithms(True), m.are_deterministic_algorithms_enabled(),
               m.is_deterministic_algorithms_warn_only_enabled(), m.get_deterministic_debug_mode(),
               m.backends.cudnn.deterministic),
    lambda m: (m.use_deterministic_algorithms(True, warn_only=True),
               m.is_deterministic_algorithms_warn_only_enabled(), m.get_deterministic_debug_mode()),
    lambda m: m.use_deterministic_algorithms(1),
    lambda m: m.use_deterministic_algorithms(True, warn_only=1),
    lambda m: (m.set_deterministic_debug_mode("warn"), m.get_deterministic_debug_mode(),
               m.are_deterministic_algorithms_enabled()),
    lambda m: (m.set_deterministic_debug_mode(2), m.is_deterministic_algorithms_warn_only_enabled()),
    lambda m: m.set_deterministic_debug_mode(3),
    lambda m: m.set_deterministic_debug_mode("sometimes"),
])
def test_deterministic_algorithms(call):
    same(call)


# ---- default device --------------------------------------------------------------------
def test_default_device_is_cpu_and_with_device_sets_it_inside_the_block():
    same(lambda m: m.get_default_device())
    for lib in (ember, torch):
        with lib.device("cpu") as d:
            assert d == lib.device("cpu") and lib.get_default_device() == lib.device("cpu")
            assert lib.zeros(2).device == lib.device("cpu")
        lib.set_default_device("cpu")
        assert lib.get_default_device().type == "cpu"
        lib.set_default_device(None)
        assert lib.get_default_device().type == "cpu"


@cpu_only
@pytest.mark.parametrize("call", [
    lambda m: (m.set_default_device("cuda"), m.get_default_device()),
    lambda m: (m.set_default_device("cuda"), m.zeros(2)),
    lambda m: (m.set_default_device("cuda"), m.randn(2, 3)),
    lambda m: (m.set_default_device("cuda"), m.tensor([1.0])),
    lambda m: (m.set_default_device("cuda"), m.arange(3)),
    lambda m: (m.set_default_device("cuda"), m.nn.Linear(2, 2)),
    lambda m: (m.set_default_device("cuda:1"), m.get_default_device()),
    lambda m: m.set_default_device(0),
    lambda m: m.set_default_device("nowhere"),
])
def test_default_device_cuda_without_a_gpu(call):
    same(call, compare_value=False)


@cpu_only
def test_with_cuda_device_without_a_gpu_raises_on_creation_and_restores_after():
    for lib in (ember, torch):
        with pytest.raises(AssertionError):
            with lib.device("cuda"):
                lib.ones(2)
        assert lib.get_default_device().type == "cpu"
        assert lib.ones(2).device.type == "cpu"


@cpu_only
def test_like_functions_keep_the_source_device():
    x = ember.ones(2, 3)
    ember.set_default_device("cuda")
    for fn in (ember.zeros_like, ember.ones_like, ember.empty_like, ember.rand_like, ember.randn_like):
        assert fn(x).device == ember.device("cpu")
    assert ember.full_like(x, 2.0).device == ember.device("cpu")
    assert x.new_zeros(2).device == ember.device("cpu")
    assert ember.from_numpy(np.zeros(2)).device == ember.device("cpu")


# ---- layouts, memory formats, pinning --------------------------------------------------
def test_layout_and_memory_format_names():
    for name in ("strided", "contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        assert repr(getattr(ember, name)) == repr(getattr(torch, name)).replace("torch", "ember")
    assert isinstance(ember.strided, ember.layout) and isinstance(ember.channels_last, ember.memory_format)
    assert ember.zeros(2).layout is ember.strided
    assert pickle.loads(pickle.dumps(ember.channels_last)) is ember.channels_last


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2, layout=m.strided),
    lambda m: m.ones(2, 3, layout=m.strided, pin_memory=False),
    lambda m: m.full((2,), 3.0, layout=m.strided),
    lambda m: m.arange(4, layout=m.strided),
    lambda m: m.eye(3, layout=m.strided),
    lambda m: m.zeros_like(m.ones(2, 3, 4, 5), layout=m.strided, memory_format=m.channels_last).shape,
    lambda m: m.ones_like(m.ones(2, 3), memory_format=m.channels_last),
    lambda m: m.zeros(2, 3, 4, 5).contiguous(memory_format=m.channels_last).shape,
    lambda m: m.zeros(2, 3, 4, 5).contiguous(memory_format=m.contiguous_format).is_contiguous(),
    lambda m: m.zeros(2, 3).contiguous(memory_format=m.preserve_format),
    lambda m: m.zeros(2, 3).contiguous(memory_format=m.channels_last),
    lambda m: m.zeros(2, 3, 4).contiguous(memory_format=m.channels_last_3d),
    lambda m: m.zeros(2, 3).contiguous(memory_format=3),
    lambda m: m.zeros(2, 3).clone(memory_format=m.channels_last),
    lambda m: m.zeros(2).to(memory_format=m.channels_last),
    lambda m: m.zeros(2, 3, 4, 5).to("cpu", non_blocking=True, memory_format=m.channels_last).shape,
    lambda m: m.zeros(2).cpu(memory_format=m.preserve_format),
    lambda m: m.zeros(2, 3, 4, 5).is_contiguous(),
    lambda m: m.zeros(2, 3, 4, 5).is_contiguous(memory_format=m.channels_last),
    lambda m: m.zeros(2, 3, 4, 5).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    .is_contiguous(memory_format=m.channels_last),
    lambda m: m.zeros(2).is_pinned(),
    lambda m: m.zeros(2).is_pinned("cuda"),
    lambda m: m.nn.Linear(2, 2).to("cpu", non_blocking=True).weight.shape,
    lambda m: m.nn.Conv2d(2, 2, 1).to(memory_format=m.channels_last).weight.shape,
])
def test_layout_memory_format_and_non_blocking_are_accepted(call):
    same(call)


def test_to_non_blocking_on_the_same_device_returns_self():
    x = ember.ones(2)
    assert x.to("cpu", non_blocking=True) is x
    assert x.cpu() is x


@cpu_only
@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2).pin_memory(),
    lambda m: m.zeros(2, pin_memory=True),
    lambda m: m.empty(2, pin_memory=True),
    lambda m: m.tensor([1.0], pin_memory=True),
    lambda m: m.arange(3, pin_memory=True),
    lambda m: m.randn(3, pin_memory=True),
    lambda m: m.zeros(2).cuda(0, non_blocking=True),
])
def test_pinning_without_an_accelerator_raises(call):
    same(call)


def test_sparse_layout_is_refused():
    with pytest.raises(NotImplementedError, match="strided"):
        ember.zeros(2, layout=ember.sparse_coo)


@cpu_only
@pytest.mark.parametrize("kwargs", [dict(pin_memory=True), dict(pin_memory=True, pin_memory_device="cuda"),
                                    dict(pin_memory=False)])
def test_dataloader_pin_memory_warns_as_pytorch(kwargs):
    batches = same(lambda m: [b.tolist() for b in m.utils.data.DataLoader(m.arange(4), batch_size=2, **kwargs)])
    assert batches == [[0, 1], [2, 3]]
