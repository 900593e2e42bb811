import os

import pytest
import torch

import nas.data._dataset as dataset_mod
import nas.data._layouts as layouts_mod
from nas.data import cache_root, load_split


def _no_decoding(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(dataset_mod, "open_image", fail)
    monkeypatch.setattr(layouts_mod, "open_image", fail)


def test_second_load_comes_from_cache_without_decoding(maxnas_root, cache_dir, monkeypatch):
    first = load_split(maxnas_root, "train", "camvid11", scale=0.5, progress=False)
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".npy", ".npy"]
    _no_decoding(monkeypatch)
    second = load_split(maxnas_root, "train", "camvid11", scale=0.5, progress=False)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert first.names == second.names


def test_new_task_reuses_cached_images(ai8x_root, cache_dir, monkeypatch):
    load_split(ai8x_root, "val", "camvid11", progress=False)

    def fail(*a, **k):
        raise AssertionError("image decoded although cached")

    monkeypatch.setattr(dataset_mod, "open_image", fail)  # label decoding still allowed
    data = load_split(ai8x_root, "val", "camvid4", progress=False)
    assert set(data.labels.unique().tolist()) <= {0, 1, 2, 3}
    assert len(list(cache_dir.glob("images-*"))) == 1
    assert len(list(cache_dir.glob("labels-*"))) == 2


def test_key_separates_split_scale_and_dataset(tmp_path, maxnas_root, ai8x_root, cache_dir):
    load_split(maxnas_root, "val", "camvid4", progress=False)
    load_split(maxnas_root, "val", "camvid4", scale=0.5, progress=False)
    load_split(maxnas_root, "test", "camvid4", progress=False)
    load_split(ai8x_root, "val", "camvid4", progress=False)
    assert len(list(cache_dir.glob("images-*"))) == 4


def test_changed_file_invalidates_the_cache(maxnas_root, monkeypatch):
    before = load_split(maxnas_root, "val", "camvid11", progress=False)
    label = maxnas_root / "labels" / "val" / "0001TP_000004.png"
    img = before.labels[0].clone()
    img[:, :] = 7
    from PIL import Image

    Image.fromarray(img.numpy()).save(label)
    os.utime(label, ns=(1, 1))  # a different mtime even on coarse file systems
    after = load_split(maxnas_root, "val", "camvid11", progress=False)
    assert (after.labels[0] == 7).all() and not torch.equal(before.labels, after.labels)


def test_unreadable_cache_file_is_rebuilt(maxnas_root, cache_dir):
    first = load_split(maxnas_root, "val", "camvid4", progress=False)
    for p in cache_dir.glob("images-*"):
        p.write_bytes(b"garbage")
    again = load_split(maxnas_root, "val", "camvid4", progress=False)
    assert torch.equal(first.images, again.images)


def test_cache_location(tmp_path, monkeypatch):
    assert cache_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("MAXNAS_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv("MAXNAS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "maxnas"


def test_explicit_cache_dir_wins(maxnas_root, tmp_path, cache_dir):
    load_split(maxnas_root, "val", "camvid4", cache_dir=tmp_path / "mine", progress=False)
    assert len(list((tmp_path / "mine").glob("*.npy"))) == 2
    assert not cache_dir.exists()


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_only_when_asked(maxnas_root, capsys, progress):
    load_split(maxnas_root, "val", "camvid4", progress=progress)
    assert ("decoding val/camvid4" in capsys.readouterr().err) == progress
