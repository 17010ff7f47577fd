"""PyTorch checkpoints: torch.save files load in ember without torch's code, ember's exports
load in torch.load(weights_only=True), and malicious pickles are refused without running."""
import collections
import io
import pathlib
import pickle
import threading
import zipfile

import numpy as np
import pytest
import torch
from torch import nn as tnn

import ember
import ember.io as eio
from helpers import assert_close


def _assert_same(e, t):
    """Recursively compare an object loaded by ember with torch's original."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor)
        assert e.shape == tuple(t.shape)
        bf16 = t.dtype == torch.bfloat16  # compared by its exact float32 values (torch has no NumPy bfloat16)
        np.testing.assert_array_equal(e.float().numpy() if bf16 else e.numpy(), t.float().numpy() if bf16 else t.numpy())
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            _assert_same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _assert_same(a, b)
    else:
        assert e == t and type(e) is type(t)


def _torch_object():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict(
        weight=torch.randn(3, 5, generator=g), transposed=base.t(), row=base[1], strided=base[:, ::2],
        i64=torch.arange(-3, 4), i32=torch.arange(5, dtype=torch.int32), i16=torch.arange(3, dtype=torch.int16),
        i8=torch.tensor([-1, 2], dtype=torch.int8), u8=torch.tensor([0, 255], dtype=torch.uint8),
        mask=torch.tensor([True, False, True]), half=torch.randn(4, generator=g).half(),
        bf16=torch.randn(5, generator=g).bfloat16(), f64=torch.randn(2, 2, generator=g, dtype=torch.float64),
        scalar=torch.tensor(3.5), empty=torch.zeros(0, 3))
    return {"state_dict": sd, "epoch": 7, "lr": 0.1, "name": "run", "flags": [True, None], "pair": (1, "a"),
            "nested": {"x": [torch.ones(2)]}}


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_loads_in_ember(tmp_path, legacy):
    obj = _torch_object()
    path = tmp_path / "ckpt.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    out = eio.load_torch(path)
    _assert_same(out, obj)
    _assert_same(ember.load(path), obj)  # ember.load recognises PyTorch checkpoints


def test_state_dict_metadata_and_parameters(tmp_path):
    lin = tnn.Linear(3, 2)
    path = tmp_path / "lin.pt"
    torch.save({"sd": lin.state_dict(), "param": lin.weight}, path)
    out = eio.load_torch(path)
    assert out["sd"]._metadata == lin.state_dict()._metadata
    assert isinstance(out["param"], ember.nn.Parameter) and out["param"].requires_grad
    assert_close(out["param"], lin.weight)


def test_map_location(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert eio.load_torch(path, map_location="cpu")["w"].device.type == "cpu"
    seen = []
    out = eio.load_torch(path, map_location=lambda t, loc: seen.append(loc) or t * 2)
    assert seen == ["cpu"] and out["w"].tolist() == [2.0, 2.0]


def _torch_resnet18(num_classes):
    class BasicBlock(tnn.Module):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = tnn.Sequential(tnn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class ResNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            planes = [64, 128, 256, 512]
            for i, p in enumerate(planes):
                inp = planes[max(i - 1, 0)]
                stride = 1 if i == 0 else 2
                setattr(self, f"layer{i + 1}", tnn.Sequential(BasicBlock(inp, p, stride), BasicBlock(p, p)))
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def test_torch_resnet18_state_dict_gives_same_logits(tmp_path):
    torch.manual_seed(0)
    tmodel = _torch_resnet18(10)
    with torch.no_grad():  # non-trivial running statistics, so eval-mode batch norm is checked
        for m in tmodel.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    tmodel.eval()
    path = tmp_path / "resnet18.pth"
    torch.save(tmodel.state_dict(), path)
    from ember.vision.models import resnet18
    emodel = resnet18(num_classes=10)
    emodel.load_state_dict(ember.load(path))
    emodel.eval()
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with ember.no_grad():
        got = emodel(ember.tensor(x))
    assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_ember_export_loads_in_torch(tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    base = ember.arange(12.0)
    obj = {"model": model.state_dict(), "views": [base[:8], base[4:], base.reshape(3, 4).t()],
           "param": ember.nn.Parameter(ember.ones(2)), "ints": ember.arange(3).to(ember.int8),
           "mask": ember.tensor([True, False]), "half": ember.randn(3).half(), "empty": ember.zeros(0, 2),
           "scalar": ember.tensor(1.5), "meta": ("adam", 3, 0.5, None, [True])}
    path = tmp_path / "ember.pt"
    eio.save_torch(obj, path)
    out = torch.load(path, weights_only=True)
    assert list(out["model"]) == list(obj["model"])
    assert out["model"]._metadata == obj["model"]._metadata
    for k, v in obj["model"].items():
        assert_close(v, out["model"][k])
    for e, t in zip(obj["views"], out["views"]):
        assert_close(e, t)
    assert out["views"][0].untyped_storage().data_ptr() == out["views"][1].untyped_storage().data_ptr()
    assert isinstance(out["param"], tnn.Parameter) and out["param"].requires_grad
    for k in ["ints", "mask", "half", "empty", "scalar"]:
        assert_close(obj[k], out[k])
    assert out["meta"] == obj["meta"]
    _assert_same(eio.load_torch(path)["meta"], obj["meta"])  # and ember reads its own export
    fresh = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4))
    fresh.load_state_dict(out["model"])


def test_save_torch_errors(tmp_path):
    """What pickle cannot save fails as torch.save fails, and leaves no file behind."""
    path = tmp_path / "bad.pt"
    local = lambda: 0  # noqa: E731
    for obj in ({"f": local}, [threading.Lock()]):
        with pytest.raises(Exception) as ref:
            torch.save(obj, tmp_path / "torch.pt")
        with pytest.raises(type(ref.value)) as got:
            eio.save_torch(obj, path)
        assert str(got.value) == str(ref.value)
        assert not path.exists()
    buf = io.BytesIO()
    eio.save_torch([ember.ones(1)], buf)
    buf.seek(0)
    assert torch.load(buf, weights_only=True)[0].tolist() == [1.0]


class _Exploit:
    """Unpickling this creates a marker file: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


class _SystemExploit(_Exploit):
    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("exploit", [_Exploit, _SystemExploit])
def test_malicious_checkpoints_are_refused_without_running(tmp_path, exploit):
    marker = tmp_path / "pwned"
    # A real checkpoint whose pickle also carries the payload next to a tensor.
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    pkl = next(n for n in entries if n.endswith("/data.pkl"))
    entries[pkl] = pickle.dumps({"evil": exploit(str(marker))}, protocol=2)
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    module = "posix.system" if exploit is _SystemExploit else "__builtin__.getattr"  # getattr(Path, 'touch')
    for load in (eio.load_torch, ember.load):
        with pytest.raises(eio.UnsafeCheckpointError, match=f"refusing to load the global {module}.*evil.pt.*only tensors"):
            load(path)
    with pytest.raises(RuntimeError, match="refusing"):
        ember.load(path)
    # The legacy layout: the payload as the pickled object after a valid header.
    legacy = tmp_path / "evil_legacy.pt"
    with open(legacy, "wb") as fh:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(part, fh, protocol=2)
        pickle.dump(exploit(str(marker)), fh, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        ember.load(legacy)
    assert not marker.exists()


def test_corrupted_checkpoints(tmp_path):
    path = tmp_path / "cut.pt"
    torch.save({"w": torch.ones(4)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    data = next(n for n in entries if n.endswith("/data/0"))
    entries[data] = entries[data][:-4]
    with zipfile.ZipFile(path, "w") as zf:
        for n, raw in entries.items():
            zf.writestr(n, raw)
    with pytest.raises(RuntimeError, match="holds 12 bytes, expected 4 elements of FloatStorage"):
        eio.load_torch(path)
    legacy = tmp_path / "cut_legacy.pt"
    torch.save({"w": torch.ones(4)}, legacy, _use_new_zipfile_serialization=False)
    legacy.write_bytes(legacy.read_bytes()[:-4])
    with pytest.raises(RuntimeError, match="cut_legacy.pt"):
        eio.load_torch(legacy)
