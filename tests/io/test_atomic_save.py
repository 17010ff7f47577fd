"""Saves: atomic under SIGKILL, stale temporaries removed by the next save (never a live
saver's), symlinks and permission bits kept as ``torch.save`` keeps them; loads take about
one copy of the file's bytes in memory."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
import torch

import ember
import ember.io as eio
from ember.io._files import atomic_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def _partials(folder):
    return sorted(n for n in os.listdir(folder) if ".ember-partial-" in n)


_SAVER = textwrap.dedent("""
    import sys, ember
    path = sys.argv[1]
    i = 0
    while True:
        i += 1
        ember.save({"v": i, "w": ember.full((1 << 20,), float(i))}, path)
        if i == 1:
            print("ready", flush=True)
""")


def test_sigkill_leaves_old_or_new_file_and_next_save_cleans_up(tmp_path):
    path = tmp_path / "model.pt"
    rng = random.Random(0)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        out = ember.load(path)  # a complete file: the old one or the new one
        assert out["w"].shape == (1 << 20,) and bool((out["w"] == out["v"]).all())
        assert [n for n in os.listdir(tmp_path) if n != "model.pt" and ".ember-partial-" not in n] == []
    ember.save({"v": 0}, path)
    assert _partials(tmp_path) == [] and ember.load(path) == {"v": 0}


def test_stale_partials_are_named_and_removed_but_live_ones_kept(tmp_path):
    path = tmp_path / "model.pt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".model.pt.ember-partial-{int(dead.stdout)}-00aa11bb"
    stale.write_bytes(b"x" * 100)
    other = tmp_path / f".other.pt.ember-partial-{int(dead.stdout)}-00aa11bb"  # another target's: left alone
    other.write_bytes(b"x")
    with atomic_file(path) as fh:  # a live saver holds its temporary while another save runs
        live = [n for n in _partials(tmp_path) if n.startswith(".model.pt.")]
        assert len(live) == 1 and live[0].startswith(f".model.pt.ember-partial-{os.getpid()}-")
        ember.save({"a": 1}, path)
        assert os.path.exists(tmp_path / live[0]) and not stale.exists() and other.exists()
        fh.write(b"not a checkpoint")
    assert path.read_bytes() == b"not a checkpoint"
    ember.save({"a": 2}, path)
    assert _partials(tmp_path) == [other.name] and ember.load(path) == {"a": 2}


def test_symlink_target_is_replaced_and_link_kept(tmp_path):
    target = tmp_path / "real" / "weights.pt"
    target.parent.mkdir()
    ember.save({"v": 1}, target)
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    for save in (ember.save, eio.save_torch):
        save({"v": 2}, link)
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert ember.load(target) == {"v": 2}
    eio.save_safetensors({"w": ember.ones(2)}, link)
    assert link.is_symlink() and eio.load_safetensors(target)["w"].tolist() == [1.0, 1.0]
    assert _partials(tmp_path) == [] and _partials(target.parent) == []


def test_permission_bits_are_kept_as_torch_save_keeps_them(tmp_path):
    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    for p in (ours, theirs):
        p.write_bytes(b"old")
        os.chmod(p, 0o640)
    ember.save({"v": 1}, ours)
    torch.save({"v": 1}, theirs)
    assert (ours.stat().st_mode & 0o777) == (theirs.stat().st_mode & 0o777) == 0o640
    if os.geteuid() != 0:  # root may write anything, as open() lets it
        os.chmod(ours, 0o440)
        with pytest.raises(PermissionError):
            ember.save({"v": 2}, ours)
        assert ember.load(ours) == {"v": 1}


# ---- memory: loading a file of N bytes takes about N ---------------------------------------


N = 64 << 20


def _peak(load, path):
    tracemalloc.start()
    try:
        out = load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del out
    return peak


def test_loads_peak_at_about_the_file_size(tmp_path):
    w = np.random.default_rng(0).standard_normal(N // 4, dtype=np.float32)
    files = {}
    files["ember"] = tmp_path / "e.pt"
    ember.save({"w": ember.from_numpy(w)}, files["ember"])
    files["torch"] = tmp_path / "t.pt"
    torch.save({"w": torch.from_numpy(w)}, files["torch"])
    files["safetensors"] = tmp_path / "s.safetensors"
    eio.save_safetensors({"w": ember.from_numpy(w)}, files["safetensors"])
    del w
    for kind, load in (("ember", ember.load), ("torch", eio.load_torch), ("safetensors", eio.load_safetensors)):
        size = files[kind].stat().st_size
        peak = _peak(load, files[kind])
        assert size * 0.99 < peak < 1.5 * size, (kind, peak / size)
        files[kind].unlink()


def test_a_missing_folder_is_named_as_open_names_it(tmp_path):
    target = tmp_path / "no" / "such" / "model.pt"
    with pytest.raises(FileNotFoundError) as info:
        ember.save({"w": ember.ones(2)}, target)
    assert info.value.filename == str(target) and not (tmp_path / "no").exists()
