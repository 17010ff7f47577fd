"""ember.hub: load_state_dict_from_url from a local HTTP server and file:// URLs, the cache,
the hash check, offline errors, and the cache folder settings (no network is used)."""
import contextlib
import functools
import hashlib
import http.server
import os
import pathlib
import threading

import numpy as np
import pytest

import ember
import ember.hub as hub


@contextlib.contextmanager
def serve(folder):
    """An HTTP server on 127.0.0.1 serving ``folder`` for the block; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _checkpoint(folder, stem="model"):
    """A state dict saved by ember.save as ``<stem>-<sha256[:8]>.pt``; returns (name, state)."""
    model = ember.nn.Linear(3, 2)
    state = model.state_dict()
    tmp = folder / "tmp.pt"
    ember.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    name = f"{stem}-{digest[:8]}.pt"
    tmp.rename(folder / name)
    return name, state


def _assert_same(loaded, state):
    assert list(loaded) == list(state)
    for k in state:
        np.testing.assert_array_equal(loaded[k].numpy(), state[k].numpy())


def _leftovers(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def test_download_over_http_then_reuse_cache_offline(tmp_path):
    import torch
    served, cache = tmp_path / "served", tmp_path / "cache"
    served.mkdir()
    name, state = _checkpoint(served)
    with serve(served) as base:
        loaded = hub.load_state_dict_from_url(f"{base}/{name}", model_dir=str(cache), check_hash=True,
                                              progress=False)
        ref = torch.hub.load_state_dict_from_url(f"{base}/{name}", model_dir=str(tmp_path / "torch"),
                                                 check_hash=True, progress=False)
    _assert_same(loaded, state)
    for k in ref:  # PyTorch reads the same file the same way
        np.testing.assert_array_equal(ref[k].numpy(), loaded[k].numpy())
    assert _leftovers(cache) == [name]
    # The server is gone: the cached file is used without any network access.
    again = hub.load_state_dict_from_url(f"{base}/{name}", model_dir=str(cache), progress=False)
    _assert_same(again, state)


def test_file_url_default_cache_folder_and_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hub, "_hub_dir", None)
    assert hub.get_dir() == str(tmp_path / "home" / "hub")
    name, state = _checkpoint(tmp_path)
    url = (tmp_path / name).as_uri()
    loaded = hub.load_state_dict_from_url(url, file_name="renamed.pt", weights_only=True, progress=False)
    _assert_same(loaded, state)
    assert _leftovers(tmp_path / "home" / "hub" / "checkpoints") == ["renamed.pt"]


def test_set_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    hub.set_dir(tmp_path / "elsewhere")
    assert hub.get_dir() == str(tmp_path / "elsewhere")
    name, state = _checkpoint(tmp_path)
    _assert_same(hub.load_state_dict_from_url((tmp_path / name).as_uri(), progress=False), state)
    assert _leftovers(tmp_path / "elsewhere" / "checkpoints") == [name]


def test_hash_mismatch_raises_and_leaves_nothing(tmp_path):
    import torch
    name, _ = _checkpoint(tmp_path)
    wrong = tmp_path / "model-00000000.pt"
    os.rename(tmp_path / name, wrong)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=r'invalid hash value \(expected "00000000", got "[0-9a-f]{64}"\)'):
        hub.load_state_dict_from_url(wrong.as_uri(), model_dir=str(cache), check_hash=True, progress=False)
    assert _leftovers(cache) == []
    with pytest.raises(RuntimeError, match="invalid hash value"):  # PyTorch refuses it the same way
        torch.hub.load_state_dict_from_url(wrong.as_uri(), model_dir=str(tmp_path / "torch"), check_hash=True,
                                           progress=False)
    # Without check_hash the name is not checked, as in PyTorch.
    assert "weight" in hub.load_state_dict_from_url(wrong.as_uri(), model_dir=str(cache), progress=False)


def test_download_url_to_file_with_progress(tmp_path, capsys):
    data = os.urandom(300_000)
    (tmp_path / "blob.bin").write_bytes(data)
    dst = tmp_path / "out" / "blob.bin"
    dst.parent.mkdir()
    with serve(tmp_path) as base:
        hub.download_url_to_file(f"{base}/blob.bin", str(dst), hashlib.sha256(data).hexdigest()[:10], progress=True)
    assert dst.read_bytes() == data
    assert "293k" in capsys.readouterr().err  # tqdm's bar, sized from Content-Length


def test_unreachable_url_says_where_to_put_the_file(tmp_path):
    with serve(tmp_path) as base:
        pass  # the port is closed again: nothing answers there
    cache = tmp_path / "cache"
    url = f"{base}/weights-1234abcd.pt"
    with pytest.raises(RuntimeError) as info:
        hub.load_state_dict_from_url(url, model_dir=str(cache), progress=False)
    msg = str(info.value)
    assert url in msg and str(cache / "weights-1234abcd.pt") in msg and "place it" in msg
    assert _leftovers(cache) == []


def test_missing_file_url(tmp_path):
    with pytest.raises(RuntimeError, match="could not download file://"):
        hub.download_url_to_file((tmp_path / "absent.pt").as_uri(), str(tmp_path / "x.pt"), progress=False)
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("name", ["load", "list", "help"])
def test_repository_functions_explain_they_need_the_network(name):
    with pytest.raises(RuntimeError, match="not supported.*load_state_dict_from_url"):
        getattr(hub, name)("pytorch/vision", "resnet18")
    assert ember.hub is hub
