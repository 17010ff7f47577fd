"""TensorBoard event files: TFRecord framing, CRC32C and the hand-encoded protobufs."""
import os
import struct

import pytest

import ember
import ember.nn as nn
from ember.train import SummaryWriter, TensorBoard, Trainer, read_events
from ember.train.tensorboard import crc32c
from trainutil import make_data, make_model


def test_crc32c_known_values():
    # CRC-32C check value and the RFC 3720 (iSCSI) test vectors
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(bytes([0xFF] * 32)) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E


def test_scalars_round_trip(tmp_path):
    with SummaryWriter(tmp_path / "run", filename_suffix=".x") as w:
        w.add_scalar("loss", 0.5, global_step=3, walltime=12.25)
        w.add_scalar("acc", ember.tensor(0.75), global_step=-2)
        w.add_scalars_flat({"a": 1, "b": 2.5}, 7)
    assert os.path.basename(w.path).startswith("events.out.tfevents.") and w.path.endswith(".x")
    events = read_events(w.path)
    assert events[0]["file_version"] == "brain.Event:2" and events[0]["scalars"] == {}
    assert events[1] == {"wall_time": 12.25, "step": 3, "scalars": {"loss": 0.5}}
    assert events[2]["step"] == -2 and events[2]["scalars"] == {"acc": 0.75}
    assert events[3]["scalars"] == {"a": 1.0, "b": 2.5} and events[3]["step"] == 7


def test_first_record_bytes(tmp_path):
    """The framing by hand: length, masked CRC of the length, data, masked CRC of the data."""
    w = SummaryWriter(tmp_path)
    w.close()
    data = open(w.path, "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    assert len(data) == 16 + length
    body = data[12:12 + length]
    # Event: wall_time (field 1, fixed64), step (field 2, varint 0), file_version (field 3)
    assert body[0] == 0x09 and body[9:11] == b"\x10\x00" and body[11] == 0x1A
    assert body[13:] == b"brain.Event:2"

    def masked(b):
        c = crc32c(b)
        return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    assert struct.unpack("<I", data[8:12])[0] == masked(data[:8])
    assert struct.unpack("<I", data[-4:])[0] == masked(body)


def test_corruption_is_detected(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("x", 1.0, 0)
    data = bytearray(open(w.path, "rb").read())
    data[-6] ^= 1
    open(w.path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="corrupt record data"):
        read_events(w.path)
    open(w.path, "wb").write(bytes(data[:-2]))
    with pytest.raises(ValueError, match="truncated record"):
        read_events(w.path)


def test_tensorboard_callback(tmp_path):
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[TensorBoard(tmp_path)], progress=False)
    history = trainer.fit(make_data(8), make_data(8), epochs=3)
    (path,) = tmp_path.iterdir()
    events = read_events(path)[1:]
    assert [e["step"] for e in events] == [0, 1, 2]
    assert [e["scalars"]["val_loss"] for e in events] == pytest.approx(history["val_loss"], rel=1e-6)
    assert [e["scalars"]["loss"] for e in events] == pytest.approx(history["loss"], rel=1e-6)


def test_readable_by_tensorboard(tmp_path):
    loader = pytest.importorskip("tensorboard.backend.event_processing.event_file_loader")
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss", 0.25, 4)
    events = list(loader.EventFileLoader(w.path).Load())
    assert events[0].file_version == "brain.Event:2"
    assert events[1].step == 4 and events[1].summary.value[0].tag == "loss"
    value = events[1].summary.value[0]  # TensorBoard upgrades simple values to scalar tensors
    assert list(value.tensor.float_val) == [0.25] and value.metadata.plugin_data.plugin_name == "scalars"
