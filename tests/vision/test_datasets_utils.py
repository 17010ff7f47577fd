"""ember.vision.datasets.utils: checksums, downloads (from a local HTTP server), archives."""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import tarfile
import urllib.error
import zipfile

import pytest

from ember.vision.datasets import utils
from helpers import LocalServer, unused_local_url

PAYLOAD = bytes(range(256)) * 50
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def served(tmp_path):
    """A local server with good/blob.bin, bad/blob.bin (corrupt) and nothing under missing/."""
    site = tmp_path / "site"
    (site / "good").mkdir(parents=True)
    (site / "bad").mkdir()
    (site / "good" / "blob.bin").write_bytes(PAYLOAD)
    (site / "bad" / "blob.bin").write_bytes(PAYLOAD[:-1] + b"x")
    with LocalServer(site) as server:
        yield server


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".ember-partial-" in name)


def test_calculate_md5_and_check_integrity(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert utils.calculate_md5(path) == PAYLOAD_MD5
    assert utils.calculate_md5(path, chunk_size=7) == PAYLOAD_MD5
    assert utils.check_md5(path, PAYLOAD_MD5) and not utils.check_md5(path, "0" * 32)
    assert utils.check_integrity(path) and utils.check_integrity(path, PAYLOAD_MD5)
    assert not utils.check_integrity(path, "0" * 32)
    assert not utils.check_integrity(tmp_path / "absent.bin")


def test_require_md5_names_file_and_both_digests(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    utils.require_md5(path, PAYLOAD_MD5)
    utils.require_md5(path, None)
    with pytest.raises(RuntimeError) as info:
        utils.require_md5(path, "0" * 32)
    message = str(info.value)
    assert str(path) in message and "0" * 32 in message and PAYLOAD_MD5 in message
    assert "download=True" in message


def test_download_url_verifies_and_caches(served, tmp_path, capsys):
    root = tmp_path / "root"
    utils.download_url(f"{served.url}/good/blob.bin", root, md5=PAYLOAD_MD5)
    assert (root / "blob.bin").read_bytes() == PAYLOAD
    assert served.requests == ["/good/blob.bin"]
    # A verified file is not fetched again, under any URL.
    utils.download_url(f"{served.url}/bad/blob.bin", root, md5=PAYLOAD_MD5)
    assert served.requests == ["/good/blob.bin"]
    assert "Using downloaded and verified file" in capsys.readouterr().out
    assert leftovers(root) == []
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(root / "blob.bin").st_mode & 0o777 == 0o666 & ~umask


def test_download_url_saves_under_given_name_without_md5(served, tmp_path):
    utils.download_url(f"{served.url}/bad/blob.bin", tmp_path, filename="other.bin")
    assert (tmp_path / "other.bin").read_bytes() == PAYLOAD[:-1] + b"x"


def test_download_url_checksum_mismatch_leaves_no_file(served, tmp_path):
    with pytest.raises(RuntimeError) as info:
        utils.download_url(f"{served.url}/bad/blob.bin", tmp_path, md5=PAYLOAD_MD5)
    assert PAYLOAD_MD5 in str(info.value) and "/bad/blob.bin" in str(info.value)
    assert os.listdir(tmp_path) == ["site"]


def test_download_url_replaces_a_corrupt_file_atomically(served, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"partial")
    utils.download_url(f"{served.url}/good/blob.bin", tmp_path, md5=PAYLOAD_MD5)
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == []


def test_download_url_http_error_leaves_no_file(served, tmp_path):
    with pytest.raises(urllib.error.HTTPError):
        utils.download_url(f"{served.url}/missing/blob.bin", tmp_path / "root")
    assert os.listdir(tmp_path / "root") == []


def test_download_url_follows_redirects_up_to_the_limit(served, tmp_path):
    # The server answers a folder's path without its trailing slash with a redirect to it.
    with pytest.raises(urllib.error.HTTPError, match="too many redirects"):
        utils.download_url(f"{served.url}/good", tmp_path, filename="listing.html", max_redirect_hops=0)
    assert not (tmp_path / "listing.html").exists()
    utils.download_url(f"{served.url}/good", tmp_path, filename="listing.html", max_redirect_hops=1)
    assert b"blob.bin" in (tmp_path / "listing.html").read_bytes()
    assert served.requests == ["/good", "/good", "/good/"]


def test_download_from_mirrors_tries_each_in_order(served, tmp_path, capsys):
    mirrors = [unused_local_url() + "/", f"{served.url}/missing/", f"{served.url}/bad", f"{served.url}/good/"]
    path = utils.download_from_mirrors(mirrors, "blob.bin", tmp_path / "root", PAYLOAD_MD5)
    assert path == str(tmp_path / "root" / "blob.bin")
    assert (tmp_path / "root" / "blob.bin").read_bytes() == PAYLOAD
    assert served.requests == ["/missing/blob.bin", "/bad/blob.bin", "/good/blob.bin"]
    assert capsys.readouterr().out.count("trying the next mirror") == 3
    # Cached: a second call asks no mirror.
    utils.download_from_mirrors(mirrors, "blob.bin", tmp_path / "root", PAYLOAD_MD5)
    assert len(served.requests) == 3


def test_download_from_mirrors_reports_every_failure(served, tmp_path):
    refused = unused_local_url()
    with pytest.raises(RuntimeError) as info:
        utils.download_from_mirrors([refused, f"{served.url}/missing", f"{served.url}/bad"], "blob.bin",
                                    tmp_path, PAYLOAD_MD5)
    message = str(info.value)
    assert "Error downloading blob.bin" in message
    assert f"{refused}/blob.bin" in message and "404" in message and "Checksum mismatch" in message
    assert os.listdir(tmp_path) == ["site"]


def make_tar(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("suffix,mode", [(".tar", "w"), (".tar.gz", "w:gz"), (".tgz", "w:gz"),
                                         (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")])
def test_extract_tar_archives(tmp_path, suffix, mode):
    archive = tmp_path / f"a{suffix}"
    make_tar(archive, {"top/x.bin": b"xx", "top/sub/y.bin": b"yyy"}, mode)
    out = utils.extract_archive(archive, tmp_path / "out")
    assert out == str(tmp_path / "out")
    assert (tmp_path / "out" / "top" / "x.bin").read_bytes() == b"xx"
    assert (tmp_path / "out" / "top" / "sub" / "y.bin").read_bytes() == b"yyy"
    assert archive.exists()


def test_extract_zip_into_archive_folder_and_remove(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("gzip/x.bin", b"zz")
    assert utils.extract_archive(archive, remove_finished=True) == str(tmp_path)
    assert (tmp_path / "gzip" / "x.bin").read_bytes() == b"zz"
    assert not archive.exists()


@pytest.mark.parametrize("suffix,compress", [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)])
def test_decompress_single_files(tmp_path, suffix, compress):
    (tmp_path / f"data.bin{suffix}").write_bytes(compress(PAYLOAD))
    out = utils.extract_archive(tmp_path / f"data.bin{suffix}", tmp_path / "out")
    assert out == str(tmp_path / "out" / "data.bin")
    assert (tmp_path / "out" / "data.bin").read_bytes() == PAYLOAD
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("name", ["../evil.bin", "/tmp/evil_abs.bin", "a/../../evil.bin"])
def test_extract_refuses_members_outside_the_target(tmp_path, name):
    archive = tmp_path / "bad.tar.gz"
    make_tar(archive, {"fine.bin": b"ok", name: b"evil"})
    with pytest.raises(RuntimeError, match="Refusing to extract"):
        utils.extract_archive(archive, tmp_path / "out" / "deeper")
    assert not (tmp_path / "out" / "evil.bin").exists() and not (tmp_path / "evil.bin").exists()
    assert not os.path.exists(tmp_path / "out" / "deeper" / "fine.bin")


def test_extract_refuses_links(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(RuntimeError, match="regular files and folders"):
        utils.extract_archive(archive, tmp_path / "out")


def test_extract_unknown_suffix(tmp_path):
    (tmp_path / "x.rar").write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"Unknown compression or archive type.*\.tar\.gz"):
        utils.extract_archive(tmp_path / "x.rar")


def test_download_and_extract_archive(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    make_tar(site / "pack.tar.gz", {"pack/a.txt": b"hello"})
    md5 = utils.calculate_md5(site / "pack.tar.gz")
    with LocalServer(site) as server:
        utils.download_and_extract_archive(f"{server.url}/pack.tar.gz", tmp_path / "dl", tmp_path / "ex", md5=md5)
    assert (tmp_path / "dl" / "pack.tar.gz").exists()
    assert (tmp_path / "ex" / "pack" / "a.txt").read_bytes() == b"hello"


def test_verify_str_arg():
    assert utils.verify_str_arg("test", "split", ("train", "test")) == "test"
    assert utils.verify_str_arg("anything") == "anything"
    with pytest.raises(ValueError, match=r"Unknown value 'val' for argument split. "
                                         r"Valid values are \{'train', 'test'\}"):
        utils.verify_str_arg("val", "split", ("train", "test"))
    with pytest.raises(ValueError, match="Expected type str for argument split, but got type int"):
        utils.verify_str_arg(3, "split", ("train",))
    with pytest.raises(ValueError, match="custom"):
        utils.verify_str_arg("x", "split", ("train",), custom_msg="custom")
