"""ember.utils.tensorboard.SummaryWriter: files read back with TensorBoard's EventAccumulator,
and each summary compared with the one torch.utils.tensorboard builds for the same data."""
import glob
import io
import os
import re
import socket
import sys

import numpy as np
import pytest

import ember
from ember.utils.tensorboard import SummaryWriter
from ember.utils.tensorboard import summary as S

torch = pytest.importorskip("torch")
ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
tsum = pytest.importorskip("torch.utils.tensorboard.summary")
from tensorboard.compat.proto import summary_pb2  # noqa: E402
from PIL import Image  # noqa: E402


def load(path):
    acc = ea.EventAccumulator(str(path), size_guidance={k: 0 for k in
                                                         (ea.SCALARS, ea.HISTOGRAMS, ea.IMAGES, ea.TENSORS)})
    return acc.Reload()


def parsed(summary_bytes):
    return summary_pb2.Summary.FromString(summary_bytes)


def same_hparams_summary(mine_bytes, theirs):
    """Equal summaries; the plugin content (holding a map, serialized in any order) compared
    as a parsed message."""
    from tensorboard.plugins.hparams import plugin_data_pb2
    (m,), (t,) = parsed(mine_bytes).value, theirs.value
    assert (m.tag, m.metadata.plugin_data.plugin_name) == (t.tag, t.metadata.plugin_data.plugin_name)
    content = plugin_data_pb2.HParamsPluginData.FromString
    assert content(m.metadata.plugin_data.content) == content(t.metadata.plugin_data.content)


def test_scalars_read_back(tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".s") as w:
        for step in range(5):
            w.add_scalar("loss/train", 1.0 / (step + 1), step, walltime=100.0 + step)
        w.add_scalar("t", ember.tensor([2.5]), 7)
        w.add_scalar("np", np.float64(0.25))
    assert w.path.endswith(".s") and os.path.dirname(w.path) == str(tmp_path)
    acc = load(tmp_path)
    got = [(e.step, e.value, e.wall_time) for e in acc.Scalars("loss/train")]
    assert got == [(s, pytest.approx(1.0 / (s + 1)), 100.0 + s) for s in range(5)]
    assert [(e.step, e.value) for e in acc.Scalars("t")] == [(7, 2.5)]
    assert [(e.step, e.value) for e in acc.Scalars("np")] == [(0, 0.25)]


@pytest.mark.parametrize("new_style,double", [(False, False), (True, False), (True, True)])
def test_scalar_summary_equals_torch(new_style, double):
    mine = parsed(S.scalar("x", 0.3, new_style, double))
    assert mine == tsum.scalar("x", 0.3, new_style=new_style, double_precision=double)


def test_add_scalars_writes_one_run_per_key(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("run/acc", {"train": step * 0.1, "val": step * 0.2}, step)
    for key, scale in (("train", 0.1), ("val", 0.2)):
        acc = load(tmp_path / f"run_acc_{key}")
        assert [(e.step, e.value) for e in acc.Scalars("run/acc")] == \
            [(s, pytest.approx(s * scale)) for s in range(3)]


@pytest.mark.parametrize("bins,max_bins", [("tensorflow", None), ("auto", None), (10, None), (64, 7)])
def test_histogram_equals_torch_and_reads_back(tmp_path, bins, max_bins):
    values = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    w = SummaryWriter(tmp_path)
    w.add_histogram("h", ember.tensor(values), 3, bins=bins, max_bins=max_bins)
    w.close()
    torch_bins = S.default_bins() if bins == "tensorflow" else bins
    assert parsed(S.histogram("h", values, torch_bins, max_bins)) == \
        tsum.histogram("h", torch.tensor(values), torch_bins, max_bins=max_bins)
    (event,) = load(tmp_path).Histograms("h")
    hv = event.histogram_value
    assert event.step == 3 and hv.num == 1000
    assert hv.min == pytest.approx(values.min()) and hv.max == pytest.approx(values.max())
    assert sum(hv.bucket) == 1000


def test_tensorflow_bins_equal_torch_writer(tmp_path):
    tw = torch.utils.tensorboard.SummaryWriter(str(tmp_path / "t"))
    assert S.default_bins() == tw.default_bins
    tw.close()


def decode_png(encoded):
    return np.asarray(Image.open(io.BytesIO(encoded)))


@pytest.mark.parametrize("shape,fmt,dtype", [((3, 8, 10), "CHW", "float32"), ((8, 10, 3), "HWC", "float32"),
                                             ((8, 10), "HW", "float32"), ((1, 8, 10), "CHW", "uint8"),
                                             ((4, 8, 10), "CHW", "float32"), ((5, 3, 4, 6), "NCHW", "float32"),
                                             ((11, 1, 4, 6), "NCHW", "uint8"), ((4, 6, 2, 3), "NHWC", "float32")])
def test_image_equals_torch_and_reads_back(tmp_path, shape, fmt, dtype):
    rng = np.random.default_rng(1)
    data = rng.random(shape).astype(np.float32) if dtype == "float32" else \
        rng.integers(0, 256, shape).astype(np.uint8)
    with SummaryWriter(tmp_path) as w:
        (w.add_images if len(fmt) == 4 else w.add_image)("img", ember.tensor(data), 2, dataformats=fmt)
    expected = tsum.image("img", torch.tensor(data), dataformats=fmt)
    mine = parsed(S.image("img", data, fmt))
    e_img, m_img = expected.value[0].image, mine.value[0].image
    assert (m_img.height, m_img.width, m_img.colorspace) == (e_img.height, e_img.width, e_img.colorspace)
    np.testing.assert_array_equal(decode_png(m_img.encoded_image_string), decode_png(e_img.encoded_image_string))
    (event,) = load(tmp_path).Images("img")
    assert event.step == 2 and (event.height, event.width) == (e_img.height, e_img.width)
    np.testing.assert_array_equal(decode_png(event.encoded_image_string), decode_png(e_img.encoded_image_string))


def test_image_errors_and_missing_pillow(monkeypatch):
    img = np.zeros((3, 4, 5), np.float32)
    for fmt in ("HW", "CCH"):
        with pytest.raises(AssertionError):
            tsum.image("i", torch.tensor(img), dataformats=fmt)
        with pytest.raises(AssertionError):
            S.image("i", img, fmt)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"ember\[vision\]"):
        S.image("i", img)


def test_text_equals_torch_and_reads_back(tmp_path):
    msg = "**bold** ünïcode"
    assert parsed(S.text("notes", msg)) == tsum.text("notes", msg)
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", msg, 4)
    (event,) = load(tmp_path).Tensors("notes/text_summary")
    assert event.step == 4 and event.tensor_proto.string_val[0].decode() == msg


@pytest.mark.parametrize("hparams,domain", [
    ({"lr": 0.1, "bs": 32, "opt": "adam", "flag": True, "skip": None}, None),
    ({"lr": 0.1, "opt": "sgd"}, {"lr": [0.1, 0.01], "opt": ["sgd", "adam"]}),
])
def test_hparams_equal_torch_and_read_back(tmp_path, hparams, domain):
    metrics = {"hparam/accuracy": 0.9, "hparam/loss": 0.2}
    for mine, theirs in zip(S.hparams(hparams, metrics, domain), tsum.hparams(hparams, metrics, domain)):
        same_hparams_summary(mine, theirs)
    with SummaryWriter(tmp_path) as w:
        w.add_hparams(hparams, metrics, domain, run_name="trial")
    acc = ea.EventAccumulator(str(tmp_path / "trial"))
    acc.Reload()
    assert set(acc.PluginTagToContent("hparams")) == {"_hparams_/experiment", "_hparams_/session_start_info",
                                                      "_hparams_/session_end_info"}
    assert [e.value for e in acc.Scalars("hparam/accuracy")] == [pytest.approx(0.9)]


def test_hparams_with_tensor_value_and_errors(tmp_path):
    hp = {"w": 0.5}
    same_hparams_summary(S.hparams({"w": ember.tensor([0.5])}, {})[1], tsum.hparams({"w": torch.tensor([0.5])}, {})[1])
    w = SummaryWriter(tmp_path)
    tw = torch.utils.tensorboard.SummaryWriter(str(tmp_path / "t"))
    for bad, exc in ((([], {}), TypeError), (({"a": [1]}, {}), ValueError), ((hp, {}, {"w": [1]}), TypeError)):
        with pytest.raises(exc):
            tw.add_hparams(*bad)
        with pytest.raises(exc):
            w.add_hparams(*bad)
    tw.close()
    w.close()


def test_scalar_errors_like_torch(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError):
            w.add_scalar("a", ember.ones(3))
        with pytest.raises(ValueError):
            w.add_histogram("h", ember.ones(0))
        with pytest.raises(NotImplementedError, match="draw_graph"):
            w.add_graph(ember.nn.Linear(2, 2), ember.ones(1, 2))


def test_default_log_dir_comment_and_purge_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1", purge_step=5) as w:
        w.add_scalar("x", 1.0, 6)
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_" + socket.gethostname() + "_lr0.1") and w.get_logdir() == os.path.join("runs", run)
    tw = torch.utils.tensorboard.SummaryWriter(comment="_lr0.1")
    tw.close()
    pattern = r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1"
    assert re.fullmatch(pattern, tw.log_dir) and re.fullmatch(pattern, w.get_logdir())
    from tensorboard.compat.proto import event_pb2
    from tensorboard.backend.event_processing import event_file_loader
    events = list(event_file_loader.EventFileLoader(w.path).Load())
    assert events[1].step == 5 and events[1].session_log.status == event_pb2.SessionLog.START


def test_queue_flush_close_and_reopen(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3, flush_secs=1000)
    size = os.path.getsize(w.path)  # the file_version event is written at once
    w.add_scalar("a", 1.0, 0)
    w.add_scalar("a", 2.0, 1)
    assert os.path.getsize(w.path) == size
    w.add_scalar("a", 3.0, 2)  # the queue is full
    assert os.path.getsize(w.path) > size
    w.add_scalar("a", 4.0, 3)
    w.flush()
    assert [e.value for e in load(tmp_path).Scalars("a")] == [1.0, 2.0, 3.0, 4.0]
    first = w.path
    w.close()
    w.add_scalar("a", 5.0, 4)  # like PyTorch, a closed writer starts a new file
    w.close()
    assert w.path != first and len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 2
