"""``ember.hub``: downloading checkpoints into a local cache, as ``torch.hub`` does.

``load_state_dict_from_url`` fetches a file once into ``get_dir()/checkpoints`` and reads it
from there afterwards without any network access, so a machine without internet works when
the file is placed there by hand. ``file://`` URLs work like any other. A file named
``*.safetensors`` is read as safetensors (data only: nothing in it can run), any other with
``ember.load``. Loading models from
GitHub repositories (``load``, ``list``, ``help``) needs the network and a repository's code
and is not provided.

The cache folder: :func:`set_dir`, else ``$EMBER_HOME/hub``, where ``EMBER_HOME`` defaults
to ``$XDG_CACHE_HOME/ember`` (``~/.cache/ember``).
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

from tqdm.auto import tqdm

from ._tensor import Tensor
from .backend.device import device
from .io._files import atomic_file
from .io.safetensors import load_safetensors
from .serialization import load as _load

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

# A checkpoint's name may carry the start of its SHA-256, as in resnet18-f37072fd.pth.
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_READ_SIZE = 1 << 16
_hub_dir: str | None = None


def _ember_home() -> str:
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "ember")
    return os.path.expanduser(os.getenv("EMBER_HOME", default))


def get_dir() -> str:
    """The hub cache folder: the one given to :func:`set_dir`, else ``$EMBER_HOME/hub``."""
    return _hub_dir if _hub_dir is not None else os.path.join(_ember_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache folder from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _offline_error(url: str, dst: str, err: Exception) -> RuntimeError:
    return RuntimeError(
        f"ember.hub: could not download {url} ({err}). Without network access, download the file "
        f"elsewhere and place it at {dst} (the cache folder is {os.path.dirname(dst) or '.'}; see "
        "ember.hub.get_dir/set_dir and EMBER_HOME): a cached file is used without downloading.")


def download_url_to_file(url: str, dst: str | os.PathLike, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Download ``url`` to ``dst``. The file appears only complete (it is written next to
    ``dst`` and renamed); when ``hash_prefix`` is given, the SHA-256 of the data must start
    with it, else RuntimeError and nothing is written."""
    dst = os.path.expanduser(os.fspath(dst))
    request = urllib.request.Request(url, headers={"User-Agent": "ember.hub"})
    try:
        response = urllib.request.urlopen(request)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise _offline_error(url, dst, e) from e
    with response:
        length = response.headers.get("Content-Length") if response.headers else None
        total = int(length) if length and length.isdigit() else None
        sha256 = hashlib.sha256()
        with atomic_file(dst) as fh, tqdm(total=total, disable=not progress, unit="B", unit_scale=True,
                                          unit_divisor=1024) as bar:
            while True:
                try:
                    chunk = response.read(_READ_SIZE)
                except OSError as e:
                    raise _offline_error(url, dst, e) from e
                if not chunk:
                    break
                fh.write(chunk)
                sha256.update(chunk)
                bar.update(len(chunk))
            if hash_prefix is not None:
                digest = sha256.hexdigest()
                if digest[:len(hash_prefix)] != hash_prefix:
                    raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}") for {url}')


def _named_hash(filename: str) -> str | None:
    """The SHA-256 prefix a checkpoint's name states (``name-<hex>.ext``), or None."""
    match = HASH_REGEX.search(filename)
    return match.group(1) if match else None


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = True) -> dict[str, Any]:
    """The object saved in the file at ``url`` (usually a state dict), downloaded once into
    ``model_dir`` (default ``get_dir()/checkpoints``) under ``file_name`` (default the URL's
    last path component) and read from there on later calls.

    ``check_hash``: the name's ``-<hex>.`` part must be a prefix of the file's SHA-256
    (RuntimeError otherwise). ``map_location`` and ``weights_only`` are ``ember.load``'s;
    ``weights_only`` defaults to True (ember never runs code from a downloaded file unless
    asked): state dicts load as they are; pass False only for files you trust. A
    ``.safetensors`` file holds only tensors and is read as such whatever ``weights_only``
    says; its tensors count as saved from the CPU for ``map_location``.
    """
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        download_url_to_file(url, cached_file, _named_hash(filename) if check_hash else None, progress=progress)
    return read_checkpoint(cached_file, map_location, weights_only)


def read_checkpoint(path: str, map_location=None, weights_only: bool = True, check_hash: bool = False):
    """The object in the checkpoint file at ``path``, read in place: safetensors as tensors
    only, anything else with ``ember.load``. ``check_hash``: the file name's ``-<hex>.`` part
    must be a prefix of the file's SHA-256 (RuntimeError otherwise) - how weights shipped
    inside a package are checked without copying them into the cache."""
    expected = _named_hash(os.path.basename(path)) if check_hash else None
    if expected is not None:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if not digest.hexdigest().startswith(expected):
            raise RuntimeError(f'invalid hash value (expected "{expected}", got "{digest.hexdigest()}") for {path}')
    if path.endswith(".safetensors"):
        return _load_safetensors(path, map_location)
    return _load(path, map_location=map_location, weights_only=weights_only)


def _load_safetensors(path: str, map_location) -> dict[str, Tensor]:
    """A safetensors file's tensors placed as ``ember.load`` places a checkpoint saved from
    the CPU: ``map_location`` a device, a dict from ``"cpu"`` to one, or ``fn(tensor, "cpu")``."""
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu", "cpu")
    if map_location is None or isinstance(map_location, (str, device)):
        return load_safetensors(path, device=str(map_location or "cpu"))
    out = load_safetensors(path)
    placed: dict[int, Tensor] = {}
    for t in out.values():
        if id(t) not in placed:  # a tensor and its aliases are placed once and stay one tensor
            moved = map_location(t, "cpu")
            placed[id(t)] = t if moved is None else moved
    return {name: placed[id(t)] for name, t in out.items()}


def _no_repositories(name: str):
    def refuse(*args, **kwargs):
        raise RuntimeError(
            f"ember.hub.{name}: loading models from GitHub repositories is not supported (it needs network "
            "access and runs the repository's hubconf.py). Build the model in your code and load its "
            "weights with model.load_state_dict(ember.hub.load_state_dict_from_url(url_or_file_url)); "
            "a file placed in ember.hub.get_dir()/checkpoints is used without downloading.")
    refuse.__name__ = name
    refuse.__doc__ = f"Not supported: raises RuntimeError (``torch.hub.{name}`` fetches GitHub repositories)."
    return refuse


load = _no_repositories("load")
list = _no_repositories("list")  # noqa: A001  (torch.hub's name)
help = _no_repositories("help")  # noqa: A001
