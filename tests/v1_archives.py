"""Files in ember's earlier checkpoint format (version 1: a JSON manifest and raw arrays),
which ember.load still reads; ember.save now writes PyTorch's format, so tests build them here."""
import json
import zipfile

import numpy as np

import ember


def v1_manifest(obj):
    """The manifest and blobs of ``obj``: tensors, dicts, lists, tuples and JSON scalars."""
    tensors, blobs = [], []

    def value(v):
        if isinstance(v, ember.Tensor):
            arr = np.ascontiguousarray(v.detach().numpy()).astype(v.detach().numpy().dtype.newbyteorder("<"))
            blobs.append(arr)
            tensors.append({"blob": len(blobs) - 1, "device": "cpu", "requires_grad": v.requires_grad,
                            "parameter": isinstance(v, ember.nn.Parameter)})
            return {"tensor": len(tensors) - 1}
        if isinstance(v, dict):
            return {"dict": [[value(k), value(x)] for k, x in v.items()]}
        if isinstance(v, (list, tuple)):
            return {type(v).__name__: [value(x) for x in v]}
        assert v is None or type(v) in (bool, int, float, str), type(v)
        return v

    root = value(obj)
    meta = [{"dtype": str(ember.tensor(a).dtype).split(".")[1], "shape": list(a.shape)} for a in blobs]
    return {"format": "ember", "version": 1, "root": root, "tensors": tensors, "blobs": meta}, blobs


def write_v1(path, obj, edit=None):
    """Write ``obj`` as a version-1 archive at ``path``; ``edit(manifest)`` may change the
    manifest first. Returns ``path``."""
    manifest, blobs = v1_manifest(obj)
    if edit is not None:
        edit(manifest)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ember/manifest.json", json.dumps(manifest))
        for i, arr in enumerate(blobs):
            zf.writestr(f"ember/data/{i}", arr.tobytes())
    return path
