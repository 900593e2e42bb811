import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nas.data._cache as cache_mod
from nas.data import (
    CorruptImageError,
    DatasetNotFoundError,
    EmptySplitError,
    LabelValueError,
    LayoutError,
    SizeMismatchError,
    load_split,
    resolve_data_dir,
)


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*")) if cache.exists() else []


def test_all_errors_are_value_errors():
    for cls in (CorruptImageError, DatasetNotFoundError, EmptySplitError, LabelValueError):
        assert issubclass(cls, ValueError)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


def test_missing_dataset_names_every_place_and_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="--data-dir .*nowhere.*--download"):
        resolve_data_dir(tmp_path / "nowhere")
    monkeypatch.setenv("CAMVID_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError, match=r"\$CAMVID_DIR .*env"):
        resolve_data_dir(None)
    monkeypatch.delenv("CAMVID_DIR")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as e:
        resolve_data_dir(None)
    msg = str(e.value)
    assert "--data-dir (not given)" in msg and "CAMVID_DIR (not set)" in msg
    assert str(tmp_path / "data" / "CamVid") in msg and "python -m nas data --download" in msg


def test_env_and_default_locations_are_used(tmp_path, monkeypatch, maxnas_root):
    monkeypatch.setenv("CAMVID_DIR", str(maxnas_root))
    assert resolve_data_dir(None) == maxnas_root
    assert len(load_split(None, "val", "camvid4", progress=False)) == 4
    monkeypatch.delenv("CAMVID_DIR")
    (tmp_path / "data").mkdir()
    maxnas_root.rename(tmp_path / "data" / "CamVid")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(None) == Path("data/CamVid")


def test_unrecognised_folder(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(LayoutError, match="not a CamVid folder"):
        load_split(tmp_path / "x", "train", "camvid4", progress=False)


def test_corrupt_image_names_the_file(maxnas_root, cache_dir):
    bad = maxnas_root / "images" / "train" / "0001TP_000002.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(CorruptImageError, match=str(bad)):
        load_split(maxnas_root, "train", "camvid11", progress=False)
    assert _cache_files(cache_dir) == []  # nothing half-written


def test_truncated_label_names_the_file(ai8x_root, cache_dir):
    bad = ai8x_root / "train_labels" / "0001TP_000001_L.png"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(CorruptImageError, match=str(bad)):
        load_split(ai8x_root, "train", "camvid4", progress=False)
    assert _cache_files(cache_dir) == []


def test_size_mismatch_names_image_and_label(maxnas_root):
    label = maxnas_root / "labels" / "val" / "0001TP_000005.png"
    Image.fromarray(np.zeros((64, 90), dtype=np.uint8)).save(label)
    image = maxnas_root / "images" / "val" / "0001TP_000005.jpg"
    with pytest.raises(SizeMismatchError) as e:
        load_split(maxnas_root, "val", "camvid11", progress=False)
    assert str(image) in str(e.value) and str(label) in str(e.value)
    assert "96x64" in str(e.value) and "90x64" in str(e.value)


def test_frames_of_different_sizes(maxnas_root):
    name = "0001TP_000006"
    Image.new("RGB", (80, 64)).save(maxnas_root / "images" / "val" / f"{name}.jpg")
    Image.fromarray(np.zeros((64, 80), dtype=np.uint8)).save(
        maxnas_root / "labels" / "val" / f"{name}.png"
    )
    with pytest.raises(SizeMismatchError, match="must share a size.*" + name):
        load_split(maxnas_root, "val", "camvid4", progress=False)


def test_label_value_outside_task(maxnas_root, cache_dir):
    label = maxnas_root / "labels" / "test" / "0001TP_000009.png"
    arr = np.asarray(Image.open(label)).copy()
    arr[3, 4] = 42
    Image.fromarray(arr).save(label)
    for task in ("camvid11", "camvid4"):  # 42 is not a source class: an error for both
        with pytest.raises(LabelValueError, match=f"{label} holds value 42"):
            load_split(maxnas_root, "test", task, progress=False)
    assert not list(cache_dir.rglob("labels-*"))


def test_unmatched_colour_is_error_for_camvid11_and_other_for_camvid4(ai8x_root):
    label = ai8x_root / "test_labels" / "0001TP_000008_L.png"
    arr = np.asarray(Image.open(label)).copy()
    arr[0, 0] = (1, 2, 3)
    Image.fromarray(arr).save(label)
    with pytest.raises(LabelValueError, match=r"holds colour \(1, 2, 3\).*not in class_dict"):
        load_split(ai8x_root, "test", "camvid11", progress=False)
    data = load_split(ai8x_root, "test", "camvid4", progress=False)
    assert data.labels[data.names.index("0001TP_000008"), 0, 0] == 3


def test_empty_and_missing_splits(maxnas_root):
    for p in (maxnas_root / "images" / "test").iterdir():
        p.unlink()
    with pytest.raises(EmptySplitError, match="split 'test' is empty"):
        load_split(maxnas_root, "test", "camvid4", progress=False)
    (maxnas_root / "images" / "test").rmdir()
    with pytest.raises(EmptySplitError, match="split 'test' is missing"):
        load_split(maxnas_root, "test", "camvid4", progress=False)
    with pytest.raises(ValueError, match="unknown split 'training'"):
        load_split(maxnas_root, "training", "camvid4", progress=False)


def test_image_without_label(ai8x_root):
    (ai8x_root / "val_labels" / "0001TP_000004_L.png").unlink()
    with pytest.raises(EmptySplitError, match="0001TP_000004.png has no label file"):
        load_split(ai8x_root, "val", "camvid4", progress=False)


def test_failed_cache_write_leaves_nothing(maxnas_root, cache_dir, monkeypatch):
    real_save = np.save

    def failing_save(f, arr, **kw):
        real_save(f, arr[: len(arr) // 2], **kw)  # half the data reaches the disk, then...
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        load_split(maxnas_root, "val", "camvid4", progress=False)
    assert _cache_files(cache_dir) == []
    monkeypatch.setattr(cache_mod.np, "save", real_save)
    assert len(load_split(maxnas_root, "val", "camvid4", progress=False)) == 4
    assert len(_cache_files(cache_dir)) == 2 and not any(
        ".tmp" in n for n in os.listdir(cache_dir)
    )
