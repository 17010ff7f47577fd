"""Hostile pickles: every opcode that could call, import or mutate is refused by the one
restricted unpickler (PyTorch checkpoints and data set pickles alike), and no refused file
changes how a later, legitimate file loads."""
import collections
import copyreg
import io
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import ember
import ember.io as eio
from ember.io._unpickler import UnsafePickleError, restricted_load


def _u(s: str) -> bytes:
    """BINUNICODE: a str operand."""
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _torch_zip(path, pkl: bytes, storages: dict | None = None):
    """A checkpoint in torch.save's zip layout with the given data.pkl and storage bytes."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", b"little")
        for key, raw in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", raw)
    return path


P2, P4, P5 = b"\x80\x02", b"\x80\x04", b"\x80\x05"
STORAGE = b"ctorch\nFloatStorage\n"
REBUILD = b"ctorch._utils\n_rebuild_tensor_v2\n"
ODICT = b"ccollections\nOrderedDict\n"

# Pickles for the checkpoint allow-list: (payload, what the refusal names).
TORCH_HOSTILE = {
    "build_storage_type": (P2 + STORAGE + b"}" + _u("dtype") + _u("float64") + b"sb.", "BUILD on a _StorageType"),
    "build_storage_slots": (P2 + STORAGE + b"N}" + _u("name") + _u("DoubleStorage") + b"s\x86b.", "BUILD"),
    "build_rebuild_function": (P2 + REBUILD + b"N}" + _u("__defaults__") + b"K\x01\x85s\x86b.", "BUILD"),
    "build_odict_class": (P2 + ODICT + b"}" + _u("fromkeys") + b"Nsb.", "BUILD on a type"),
    "setitem_on_global": (P2 + ODICT + _u("k") + b"K\x01s.", "SETITEM on a type"),
    "setitems_on_global": (P2 + STORAGE + b"(" + _u("k") + b"K\x01u.", "SETITEMS on a _StorageType"),
    "append_on_global": (P2 + REBUILD + b"K\x01a.", "APPEND on a method"),
    "appends_on_global": (P2 + ODICT + b"(K\x01e.", "APPENDS on a type"),
    "additems_on_global": (P4 + ODICT + b"(K\x01\x90.", "ADDITEMS on a type"),
    "reduce_token": (P2 + STORAGE + b")R.", "refusing to call a _StorageType"),
    "reduce_result": (P2 + ODICT + b")R)R.", "refusing to call a OrderedDict"),
    "reduce_list_args": (P2 + ODICT + b"]R.", "REDUCE with list arguments"),
    "inst": (P2 + b"(icollections\nOrderedDict\n.", "INST"),
    "obj": (P2 + b"(" + ODICT + b"o.", "OBJ"),
    "newobj": (P2 + ODICT + b")\x81.", "NEWOBJ"),
    "newobj_ex": (P4 + ODICT + b")}\x92.", "NEWOBJ_EX"),
    "ext1": (P2 + b"\x82\x7f.", "EXT1"),
    "ext2": (P2 + b"\x83\x7f\x00.", "EXT2"),
    "ext4": (P2 + b"\x84\x7f\x00\x00\x00.", "EXT4"),
    "next_buffer": (P5 + b"\x97.", "NEXT_BUFFER"),
    "readonly_buffer": (P5 + b"N\x98.", "READONLY_BUFFER"),
    "global_os": (P2 + b"cos\nsystem\n.", "global os.system"),
    "global_builtins_eval": (P2 + b"cbuiltins\neval\n.", "global builtins.eval"),
    "stack_global": (P4 + b"\x8c\x02os\x8c\x06system\x93.", "global os.system"),
    "global_torch_load": (P2 + b"ctorch\nload\n.", "global torch.load"),
    "unknown_opcode": (P2 + b"\xff.", "unknown 0xff"),
}
# Pickles for the data-set allow-list (NumPy arrays, bytes, containers).
DATA_HOSTILE = {
    "persistent_id": (P2 + _u("x") + b"Q.", "persistent id"),
    "persistent_id_text": (b"Pfoo\n.", "persistent id"),
    "build_dtype_class": (P2 + b"cnumpy\ndtype\n}" + _u("names") + b"Nsb.", "BUILD"),
    "build_bytes_builder": (P2 + b"c__builtin__\nbytes\n}" + _u("x") + b"Nsb.", "BUILD on a function"),
    "build_codecs_defaults": (P2 + b"c_codecs\nencode\nN}" + _u("__defaults__") + _u("rot13") + b"\x85s\x86b.",
                              "BUILD on a function"),
    "reduce_ndarray_class": (P2 + b"cnumpy\nndarray\nJ\x00\x00\x00\x40\x85R.", "refusing to call a type"),
    "bytes_of_a_size": (P2 + b"c__builtin__\nbytes\n\x8a\x05\x00\x00\x00\x00\x01\x85R.", r"bytes\(\) of anything"),
    "reconstruct_with_a_shape": (P2 + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
                                 b"J\x00\x00\x00\x40\x85C\x01b\x87R.", "ndarray reconstruction"),
    "codecs_other_encoding": (P2 + b"c_codecs\nencode\n" + _u("x") + _u("rot13") + b"\x86R.", "encoding 'rot13'"),
    "global_numpy_load": (P2 + b"cnumpy\nload\n.", "global numpy.load"),
    "newobj_ndarray": (P2 + b"cnumpy\nndarray\nJ\x00\x00\x00\x40\x85\x81.", "NEWOBJ"),
}


def _clean_checkpoint(tmp_path):
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict(w=torch.randn(3, 4, generator=g), d=torch.randn(2, generator=g).double(),
                                 b=torch.randn(3, generator=g).bfloat16(), i=torch.arange(4))
    sd._metadata = {"": {"version": 1}}
    path = tmp_path / "clean.pt"
    torch.save(sd, path)
    return path


def _clean_data_pickle():
    value = {"data": np.arange(12, dtype=np.uint8).reshape(3, 4), "x": np.float64(1.5),
             "f": np.arange(3, dtype=">f8"), "labels": [1, 2, 3], "b": b"\x00\xff"}
    return pickle.dumps(value, protocol=2)


def _snapshot(sd):
    return ({k: (v.dtype, v.shape, v.numpy().tolist()) for k, v in sd.items()}, sd._metadata)


def _data_snapshot(d):
    return {k: (v.dtype.str, v.tolist()) if isinstance(v, np.ndarray) else (type(v).__name__, repr(v))
            for k, v in d.items()}


def _load_data(path):
    with open(path, "rb") as fh:
        return restricted_load(fh)


def test_refused_pickles_change_nothing(tmp_path):
    clean = _clean_checkpoint(tmp_path)
    before, data_before = _snapshot(ember.load(clean)), _data_snapshot(restricted_load(io.BytesIO(_clean_data_pickle())))
    f8 = (np.dtype("f8").byteorder, np.dtype("f8").str)
    for name, (payload, what) in {**TORCH_HOSTILE, **DATA_HOSTILE}.items():
        if name in TORCH_HOSTILE:
            path, own, other = _torch_zip(tmp_path / f"{name}.pt", payload), eio.load_torch, _load_data
        else:
            path, own, other = tmp_path / f"{name}.pkl", _load_data, eio.load_torch
            path.write_bytes(payload)
        with pytest.raises(UnsafePickleError, match=what) as info:
            own(path)
        assert path.name in str(info.value)
        with pytest.raises(RuntimeError):  # refused by the other allow-list too, for its own reason
            other(path)
    assert _snapshot(ember.load(clean)) == before
    assert _data_snapshot(restricted_load(io.BytesIO(_clean_data_pickle()))) == data_before
    assert (np.dtype("f8").byteorder, np.dtype("f8").str) == f8


def test_dtype_build_alters_only_a_copy():
    # np.dtype("f8") is NumPy's shared float64: a file may set state only on a fresh copy.
    state = pickle.dumps((3, ">", None, None, None, -1, -1, 0), protocol=2)[2:-1]
    payload = P2 + b"cnumpy\ndtype\n" + _u("f8") + b"\x89\x89\x87R" + state + b"b."
    out = restricted_load(io.BytesIO(payload))
    assert out.byteorder == ">" and np.dtype("f8").byteorder == "=" and out is not np.dtype("f8")


def test_extension_registry_is_never_consulted(tmp_path):
    copyreg.add_extension("collections", "OrderedDict", 0x7F)
    try:
        for payload in (TORCH_HOSTILE["ext1"][0], P2 + b"\x82\x7f)R."):
            with pytest.raises(UnsafePickleError, match="EXT1"):
                eio.load_torch(_torch_zip(tmp_path / "ext.pt", payload))
    finally:
        copyreg.remove_extension("collections", "OrderedDict", 0x7F)


@pytest.mark.parametrize("payload,match", [
    (P5 + b"\x96" + struct.pack("<Q", 1 << 40) + b"abc.", "BYTEARRAY8 of 1099511627776 bytes"),
    (P4 + b"\x8e" + struct.pack("<Q", 1 << 40) + b"abc.", "truncated or corrupted"),
    (P4 + b"\x95" + struct.pack("<Q", 1 << 40) + b"N.", "truncated or corrupted"),
    (P2 + b"X" + struct.pack("<I", 0xFFFFFFF0) + b"abc.", "truncated or corrupted"),
    (P2 + b"\x8b" + struct.pack("<i", 0x7FFFFFF0) + b"\x01.", "truncated or corrupted"),
    (b"I" + b"9" * 5000 + b"\n.", "truncated or corrupted"),
], ids=["bytearray8", "binbytes8", "frame", "binunicode", "long4", "int_digits"])
def test_lengths_beyond_the_file_allocate_nothing(payload, match):
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=match):
            restricted_load(io.BytesIO(payload))
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()


# ---- checkpoints whose tensors lie ------------------------------------------------------


class _Global:
    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self):  # the pickler accepts only callables as REDUCE functions
        raise TypeError


class _Pid:
    def __init__(self, *pid):
        self.pid = pid


class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args


class _Writer(pickle._Pickler):
    """Writes arbitrary GLOBAL names, persistent ids and calls, as a forged checkpoint would."""

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            return self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        return super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Pid) else None

    def reducer_override(self, obj):
        return (obj.func, obj.args) if isinstance(obj, _Call) else NotImplemented


def _forged(tmp_path, obj, storage=np.arange(4, dtype="<f4").tobytes()):
    buf = io.BytesIO()
    _Writer(buf, protocol=2).dump(obj)
    return _torch_zip(tmp_path / "forged.pt", buf.getvalue(), {"0": storage})


def _tensor(size, stride, offset=0, numel=4, storage="FloatStorage", requires_grad=False):
    pid = _Pid("storage", _Global("torch", storage), "0", "cpu", numel)
    return _Call(_Global("torch._utils", "_rebuild_tensor_v2"), pid, offset, size, stride, requires_grad,
                 collections.OrderedDict())


@pytest.mark.parametrize("obj,match", [
    (_tensor((4,), (1,), numel=1 << 40), "holds 16 bytes, expected 1099511627776 elements"),
    (_tensor((4,), (1,), numel=-1), "storage '0' of -1 elements"),
    (_tensor((1 << 40,), (1,)), "reaches past its storage of 4 elements"),
    (_tensor((2, 2), (2, 1), offset=1), "reaches past its storage"),
    (_tensor((-1,), (1,)), "negative or out-of-range"),
    (_tensor((1 << 70,), (0,)), "negative or out-of-range"),
    (_tensor((1 << 40, 1 << 40), (0, 0)), "too many elements"),
    (_tensor((1,) * 65, (1,) * 65), "too many dimensions"),
    (_tensor((2,), (1, 1)), "lengths differ"),
    (_tensor((2.0,), (1,)), "size and stride tuples of ints"),
    (_tensor([2], [1]), "size and stride tuples of ints"),
    (_tensor((2,), (1,), requires_grad=1), "and a bool"),
    (_Call(_Global("torch._utils", "_rebuild_tensor_v2"), 5, 0, (1,), (1,), False, None), "other than a storage"),
    (_Pid("storage", "FloatStorage", "0", "cpu", 4), "unknown persistent id"),
    (_Pid("storage", _Global("torch", "FloatStorage"), 0, "cpu", 4), "unknown persistent id"),
    ([_tensor((1,), (1,)), _tensor((1,), (1,), numel=2, storage="IntStorage")], "declares storage '0' twice"),
    (_Call(_Global("torch._utils", "_rebuild_parameter"), 3, True, None), "_rebuild_parameter expects a tensor"),
], ids=["numel_beyond_entry", "numel_negative", "size_beyond_storage", "offset_beyond_storage", "negative_size",
        "huge_size", "huge_stride0", "dims", "stride_length", "float_size", "list_size", "grad_type", "not_storage",
        "pid_type", "pid_key_type", "storage_twice", "parameter_of_int"])
def test_forged_tensors_are_refused(tmp_path, obj, match):
    import tracemalloc
    path = _forged(tmp_path, obj)
    tracemalloc.start()
    try:
        for load in (eio.load_torch, ember.load):
            with pytest.raises(RuntimeError, match=match) as info:
                load(path)
            assert "forged.pt" in str(info.value)
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()


def test_forged_tensor_within_its_storage_loads(tmp_path):
    # The same writer with honest numbers: the refusals above are about the numbers alone.
    out = eio.load_torch(_forged(tmp_path, _tensor((2, 2), (1, 2), offset=0)))
    assert out.tolist() == [[0.0, 2.0], [1.0, 3.0]]


def test_legacy_storage_larger_than_the_file(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(4)}, path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    # The element count in the persistent id is a BININT1 (K 4) after the memoized 'cpu' location.
    at = raw.index(b"\x00cpuq") + 5
    forged = raw[:at + 1] + raw[at + 1:at + 3].replace(b"K\x04", b"J\x00\x00\x00\x40") + raw[at + 3:]
    assert forged != raw
    path.write_bytes(forged)
    with pytest.raises(RuntimeError, match="legacy.pt' declares storage .* more than the file holds"):
        eio.load_torch(path)


# ---- expanded and overlapping tensors: views, as torch.load makes them ------------------


def test_expanded_tensor_loads_as_a_stride0_view(tmp_path):
    import tracemalloc
    path = tmp_path / "expanded.pt"
    torch.save(torch.zeros(1).expand(65536, 32768), path)
    assert path.stat().st_size < 4096
    expected = torch.load(path, weights_only=True)
    tracemalloc.start()
    try:
        for load in (eio.load_torch, ember.load):
            t = load(path)
            assert tuple(t.shape) == tuple(expected.shape)
            assert tuple(s // t._data.itemsize for s in t._data.strides) == expected.stride()
            assert t[12345, 23456].item() == 0.0 and t[-1].sum().item() == 0.0
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()


def test_views_share_their_storage_as_in_torch(tmp_path):
    base = torch.arange(10.0)
    obj = {"a": base[:5], "b": base[3:], "c": base.as_strided((4, 3), (1, 1)), "e": base[:2].expand(3, 2)}
    path = tmp_path / "views.pt"
    torch.save(obj, path)
    got, expected = eio.load_torch(path), torch.load(path, weights_only=True)
    for k in obj:
        np.testing.assert_array_equal(got[k].numpy(), expected[k].numpy())
        assert tuple(s // 4 for s in got[k]._data.strides) == expected[k].stride()
    assert got["a"]._data.flags.writeable and got["b"]._data.flags.writeable
    got["a"].add_(1)
    expected["a"].add_(1)
    np.testing.assert_array_equal(got["b"].numpy(), expected["b"].numpy())
    for k in "ce":  # as in PyTorch, a tensor whose elements overlap cannot be written in place
        with pytest.raises(RuntimeError, match="more than one element|read-only"):
            got[k].mul_(2)
