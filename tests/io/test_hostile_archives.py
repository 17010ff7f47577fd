"""Hostile containers: zip and gzip bombs, duplicate or overlapping entries, and headers or
manifests whose lengths, types and numbers lie. Each is refused with a RuntimeError naming
the file and the problem, before memory out of proportion to the file is allocated."""
import gzip
import json
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import torch

import ember
import ember.io as eio
from ember.vision.datasets import utils
from ember.vision.datasets.mnist import read_label_file, read_sn3_pascalvincent_tensor
from v1_archives import write_v1

LIMIT = 8 << 20  # no refusal below may allocate more than this


def _refused(load, path, match):
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=match) as info:
            load(path)
        assert tracemalloc.get_traced_memory()[1] < LIMIT
    finally:
        tracemalloc.stop()
    assert path.name in str(info.value)
    return info.value


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return [(i, zf.read(i)) for i in zf.infolist()]


def _rewrite(path, entries, compress=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for info, data in entries:
                if compress is not None and compress(info.filename):
                    info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)


def _patch_sizes(path, entry: str, size: int):
    """Make ``entry`` declare ``size`` bytes in both its local and central headers."""
    raw = bytearray(path.read_bytes())
    name = entry.encode()
    for sig, at in ((b"PK\x03\x04", 18), (b"PK\x01\x02", 20)):
        start = 0
        while (start := raw.find(sig, start)) >= 0:
            name_at = start + (30 if sig == b"PK\x03\x04" else 46)
            if raw[name_at:name_at + len(name)] == name:
                raw[start + at:start + at + 8] = struct.pack("<II", size, size)
            start += 4
    path.write_bytes(bytes(raw))


def _ember_file(tmp_path, obj=None, name="m.pt"):
    """A file in ember's version-1 format (manifest and raw arrays), which ember.load still reads."""
    return write_v1(tmp_path / name, {"w": ember.arange(6.0).reshape(2, 3)} if obj is None else obj)


def _edit_manifest(path, edit):
    entries = _entries(path)
    out = []
    for info, data in entries:
        if info.filename == "ember/manifest.json":
            m = json.loads(data)
            edit(m)
            data = json.dumps(m).encode()
        out.append((info, data))
    _rewrite(path, out)


# ---- zip archives (ember and torch.save files, data set archives) -----------------------


def test_deflate_bomb_is_refused(tmp_path):
    # 16 MiB of zeros deflate to 16 KiB: checkpoints store entries uncompressed, so it is refused.
    path = _ember_file(tmp_path, {"w": ember.zeros(4 << 20)})
    _rewrite(path, _entries(path), compress=lambda n: n.startswith("ember/data/"))
    assert path.stat().st_size < 100_000
    _refused(ember.load, path, r"entry 'ember/data/0' is compressed")


def test_declared_size_beyond_the_file_is_refused(tmp_path):
    path = _ember_file(tmp_path)
    _edit_manifest(path, lambda m: m["blobs"][0].update(shape=[0xF0000000 // 4]))
    _patch_sizes(path, "ember/data/0", 0xF0000000)  # the manifest and the entry agree, the file does not
    _refused(ember.load, path, r"entry 'ember/data/0' declares 4026531840 bytes, which reach past")


def test_torch_storage_declared_beyond_the_file(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"w": torch.ones(4)}, path)
    entry = next(i.filename for i, _ in _entries(path) if "/data/" in i.filename)
    _patch_sizes(path, entry, 0xF0000000)
    for load in (eio.load_torch, ember.load):
        _refused(load, path, "reach past")


def test_duplicate_entries_are_refused(tmp_path):
    path = _ember_file(tmp_path)
    entries = _entries(path)
    blob = next(e for e in entries if e[0].filename == "ember/data/0")
    _rewrite(path, entries + [(zipfile.ZipInfo("ember/data/0"), b"\0" * len(blob[1]))])
    _refused(ember.load, path, "holds the entry 'ember/data/0' twice")
    tpath = tmp_path / "t.pt"
    torch.save({"w": torch.ones(2)}, tpath)
    tentries = _entries(tpath)
    _rewrite(tpath, tentries + [next(e for e in tentries if e[0].filename.endswith("data.pkl"))])
    for load in (eio.load_torch, ember.load):
        _refused(load, tpath, "data.pkl' twice")


def test_overlapping_entries_are_refused(tmp_path):
    # Many directory records pointing at the same bytes: the classic way a small zip
    # expands to gigabytes. Here entry 1 is pointed at entry 0's data.
    path = _ember_file(tmp_path, {"a": ember.ones(4), "b": ember.ones(4)})
    raw = bytearray(path.read_bytes())
    offsets = {}
    start = 0
    while (start := raw.find(b"PK\x01\x02", start)) >= 0:
        n = struct.unpack("<H", raw[start + 28:start + 30])[0]
        offsets[bytes(raw[start + 46:start + 46 + n])] = start
        start += 4
    first = struct.unpack("<I", raw[offsets[b"ember/data/0"] + 42:offsets[b"ember/data/0"] + 46])[0]
    raw[offsets[b"ember/data/1"] + 42:offsets[b"ember/data/1"] + 46] = struct.pack("<I", first)
    path.write_bytes(bytes(raw))
    _refused(ember.load, path, "overlap")


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_corrupt_zip_structure_is_a_runtime_error(tmp_path, cut):
    for path, loads in ((_ember_file(tmp_path), (ember.load,)), (tmp_path / "t.pt", (eio.load_torch, ember.load))):
        if path.name == "t.pt":
            torch.save({"w": torch.ones(64)}, path)
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * cut)] + data[-22:])  # the end record survives
        for load in loads:
            err = _refused(load, path, "truncated or corrupted")
            assert type(err) is RuntimeError


def test_extract_archive_refuses_overdeclared_and_duplicate_members(tmp_path):
    # A deflated member declaring far more than deflate can produce from its bytes.
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.bin", b"\0" * 1000)
    with zipfile.ZipFile(archive) as zf:
        real = zf.getinfo("x.bin").compress_size
    raw = bytearray(archive.read_bytes())
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = raw.find(sig)
        raw[pos + at:pos + at + 4] = struct.pack("<I", 0xF0000000)
    archive.write_bytes(bytes(raw))
    with pytest.raises(RuntimeError, match=f"'x.bin' declares 4026531840 bytes, more than its {real} compressed"):
        utils.extract_archive(archive, tmp_path / "out")
    _rewrite(archive, [(zipfile.ZipInfo("a.bin"), b"1"), (zipfile.ZipInfo("a.bin"), b"2")])
    with pytest.raises(RuntimeError, match="holds the entry 'a.bin' twice"):
        utils.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "a.bin").exists()


# ---- ember manifests ----------------------------------------------------------------------


@pytest.mark.parametrize("edit,match", [
    (lambda m: m["blobs"][0].update(shape=[1] * 65), "65 dimensions, more than 64"),
    (lambda m: m["blobs"][0].update(shape=[2 ** 64, 0]), "bad shape"),
    (lambda m: m["blobs"][0].update(shape=[-1, -6]), "bad shape"),
    (lambda m: m["blobs"][0].update(shape=[10 ** 30]), "bad shape"),
    (lambda m: m["blobs"][0].update(shape="2x3"), "bad shape"),
    (lambda m: m["blobs"][0].update(shape=[2.0, 3]), "bad shape"),
    (lambda m: m["blobs"][0].update(shape=[True, 6]), "bad shape"),
    (lambda m: m["blobs"][0].update(dtype=["float32"]), "bad blob record"),
    (lambda m: m.update(blobs={"0": 1}), "'tensors' and 'blobs' must be lists"),
    (lambda m: m["tensors"][0].update(blob="0"), "blob index '0' out of range"),
    (lambda m: m["tensors"][0].update(blob=2 ** 70), "out of range"),
    (lambda m: m["tensors"][0].update(requires_grad="yes"), "bad tensor record"),
    (lambda m: m.update(root={"dtype": ["float32"]}), "malformed manifest"),
    (lambda m: m.update(root={"odict": [], "attrs": {"__class__": {"dtype": "float32"}}}), "bad attribute name"),
    (lambda m: m.update(root={"scalar": "float32", "value": "1"}), "bad scalar"),
], ids=["dims", "size_2_64", "negative", "huge", "str", "float", "bool", "dtype_type", "blobs_type", "index_type",
        "index_huge", "grad_type", "dtype_list", "dunder_attr", "scalar_type"])
def test_lying_manifest(tmp_path, edit, match):
    path = _ember_file(tmp_path)
    _edit_manifest(path, edit)
    err = _refused(ember.load, path, match)
    assert type(err) is RuntimeError


def test_manifest_numbers_too_long_to_parse(tmp_path):
    path = _ember_file(tmp_path)
    entries = [(i, b'{"format": "ember", "version": 1, "root": ' + b"9" * 5000 + b"}"
                if i.filename == "ember/manifest.json" else d) for i, d in _entries(path)]
    _rewrite(path, entries)
    _refused(ember.load, path, "malformed manifest")


# ---- safetensors headers -----------------------------------------------------------------


def _st_file(tmp_path, header: dict | bytes, data: bytes = b"", length: int | None = None, name="x.safetensors"):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


F32x2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("header,data,length,match", [
    (b"{}", b"", 1 << 40, "declares a header of 1099511627776 bytes, beyond the file"),
    (b"{}", b"", 10, "beyond the file"),
    (b"[1, 2]", b"", None, "not a JSON object"),
    (b"{not json", b"", None, "malformed header"),
    (b'{"a": ' + json.dumps(F32x2).encode() + b', "a": ' + json.dumps(F32x2).encode() + b"}", b"\0" * 8, None,
     "naming 'a' twice"),
    ({"a": F32x2, "b": F32x2}, b"\0" * 8, None, "must tile the data exactly"),
    ({"a": {**F32x2, "data_offsets": [0, 4]}}, b"\0" * 8, None, r"\(8 bytes\) stored in 4 bytes"),
    ({"a": {**F32x2, "data_offsets": [8, 16]}}, b"\0" * 16, None, "must tile"),
    ({"a": F32x2}, b"\0" * 4, None, "has 4 bytes of data but its tensors cover 8"),
    ({"a": F32x2}, b"\0" * 12, None, "has 12 bytes of data but its tensors cover 8"),
    ({"a": {**F32x2, "dtype": "C64"}}, b"\0" * 8, None, "dtype 'C64'"),
    ({"a": {**F32x2, "dtype": 5}}, b"\0" * 8, None, "dtype 5"),
    ({"a": {**F32x2, "shape": [-2]}}, b"\0" * 8, None, "not a list of sizes"),
    ({"a": {**F32x2, "shape": [2 ** 64]}}, b"\0" * 8, None, "not a list of sizes"),
    ({"a": {**F32x2, "shape": "2"}}, b"\0" * 8, None, "not a list of sizes"),
    ({"a": {**F32x2, "shape": [1] * 65 + [2]}}, b"\0" * 8, None, "66 dimensions"),
    ({"a": {**F32x2, "data_offsets": [0]}}, b"\0" * 8, None, "expected \\[begin, end\\]"),
    ({"a": {**F32x2, "data_offsets": [-8, 0]}}, b"\0" * 8, None, "expected \\[begin, end\\]"),
    ({"a": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, None, "malformed record"),
    ({"a": F32x2, "__metadata__": {"k": 1}}, b"\0" * 8, None, "not an object of strings"),
    ({"a": F32x2, "__metadata__": {"__ember_aliases__": '{"a": "a"}'}}, b"\0" * 8, None,
     "never replace a stored tensor"),
    ({"a": F32x2, "b": {**F32x2, "data_offsets": [8, 16]}, "__metadata__": {"__ember_aliases__": '{"b": "a"}'}},
     b"\0" * 16, None, "never replace a stored tensor"),
    ({"a": F32x2, "__metadata__": {"__ember_aliases__": '{"c": "z"}'}}, b"\0" * 8, None, "does not hold"),
    ({"a": F32x2, "__metadata__": {"__ember_aliases__": '["c"]'}}, b"\0" * 8, None, "not an object of names"),
    ({"a": F32x2, "__metadata__": {"__ember_aliases__": '{"c": "a", "c": "a"}'}}, b"\0" * 8, None, "'c' twice"),
], ids=["len_huge", "len_beyond", "not_object", "not_json", "duplicate", "overlap", "size_mismatch", "gap",
        "short_data", "extra_data", "dtype_unknown", "dtype_type", "shape_negative", "shape_huge", "shape_str",
        "dims", "offsets_short", "offsets_negative", "record_keys", "metadata_type", "alias_self",
        "alias_replaces", "alias_missing", "aliases_type", "aliases_duplicate"])
def test_lying_safetensors_header(tmp_path, header, data, length, match):
    err = _refused(eio.load_safetensors, _st_file(tmp_path, header, data, length), match)
    assert str(err).startswith("ember.io.load_safetensors: ")


def test_safetensors_too_short_and_bf16(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x01\x00")
    _refused(eio.load_safetensors, path, "too short")
    st_torch = pytest.importorskip("safetensors.torch")
    t = torch.randn(3, 5).bfloat16()
    st_torch.save_file({"t": t}, str(tmp_path / "bf.safetensors"))
    out = eio.load_safetensors(tmp_path / "bf.safetensors")["t"]
    assert out.dtype == ember.bfloat16
    np.testing.assert_array_equal(out.float().numpy(), t.float().numpy())


# ---- gzip in data set files ---------------------------------------------------------------


def _idx(shape, dtype_code=0x08):
    return b"\0\0" + bytes([dtype_code, len(shape)]) + b"".join(struct.pack(">I", n) for n in shape)


def test_gzip_bomb_after_a_small_header_stops_at_the_declared_size(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_idx([10]) + bytes(64 << 20), compresslevel=1))
    assert path.stat().st_size < 1 << 20
    _refused(read_label_file, path, r"trailing bytes: .*\(10 bytes\), but 11 or more")
    tracemalloc.start()
    try:
        assert read_sn3_pascalvincent_tensor(path, strict=False).tolist() == [0] * 10
        assert tracemalloc.get_traced_memory()[1] < LIMIT
    finally:
        tracemalloc.stop()


def test_gzip_header_declaring_more_than_deflate_can_hold(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(_idx([1 << 20, 64, 64]) + bytes(100)))
    _refused(read_sn3_pascalvincent_tensor, path, r"\(4294967296 bytes\), more than a gzip file of \d+ bytes")
    plain = tmp_path / "images"
    plain.write_bytes(_idx([1 << 20, 64, 64]) + bytes(100))
    _refused(read_sn3_pascalvincent_tensor, plain, "truncated: .* but 100 bytes follow")
    dims = tmp_path / "dims"
    dims.write_bytes(_idx([1] * 70) + b"\0")
    _refused(read_sn3_pascalvincent_tensor, dims, "70 dimensions, more than 64")
