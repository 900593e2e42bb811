"""Checks on the real data (slow): the SegNet CamVid and the 16-frame ai8x-layout sample."""

import os
from pathlib import Path

import pytest
import torch

from nas.data import eval_tiles, load_split, random_crops
from tests.conftest import require

pytestmark = pytest.mark.slow

# The dataset README's table: % of pixels per class (index 0..10, then void) per split.
README_TABLE = {
    "train": [16.85, 23.26, 0.98, 31.66, 4.49, 9.72, 1.17, 1.13, 5.87, 0.64, 0.29, 3.95],
    "val": [9.18, 25.96, 0.56, 28.95, 8.72, 16.34, 0.89, 3.08, 1.75, 0.65, 2.22, 1.70],
    "test": [17.07, 24.61, 1.18, 25.81, 9.27, 11.25, 1.01, 1.18, 3.97, 0.63, 0.19, 3.83],
}
SIZES = {"train": 367, "val": 101, "test": 233}


def _camvid() -> Path:
    path = Path(os.environ.get("CAMVID_DIR") or "../shared/datasets/camvid")
    require((path / "images").is_dir(), f"SegNet CamVid not found at {path} (set CAMVID_DIR)",
            markers=("slow",))
    return path


def _ai8x_sample() -> Path:
    default = _camvid_parent() / "camvid-ai8x-sample"
    path = Path(os.environ.get("CAMVID_AI8X_DIR") or default)
    require((path / "train_labels").is_dir(),
            f"ai8x-layout CamVid sample not found at {path} (set CAMVID_AI8X_DIR)",
            markers=("slow",))
    return path


def _camvid_parent() -> Path:
    return Path(os.environ.get("CAMVID_DIR") or "../shared/datasets/camvid").parent


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_segnet_camvid_matches_its_readme(split, monkeypatch):
    root = _camvid()
    monkeypatch.setenv("CAMVID_DIR", str(root))
    data = load_split(None, split, "camvid11", progress=False)
    assert len(data) == SIZES[split] and data.frame_size == (360, 480)
    fr = data.class_fractions()
    got = [fr[n] for n in data.task.class_names] + [fr["ignore"]]
    for name, a, b in zip([*data.task.class_names, "void"], got, README_TABLE[split], strict=True):
        assert abs(a - b) < 0.1, (split, name, a, b)
    four = load_split(None, split, "camvid4", progress=False)
    assert torch.equal(four.images, data.images)
    expect4 = torch.full_like(data.labels, 3)
    for src, dst in ((1, 0), (0, 1), (5, 2)):  # Building, Sky, Tree
        expect4[data.labels == src] = dst
    assert torch.equal(four.labels, expect4)


def test_ai8x_sample_full_resolution():
    root = _ai8x_sample()
    parts = {s: load_split(root, s, "camvid4", progress=False) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [8, 4, 4]
    assert all(p.frame_size == (720, 960) for p in parts.values())
    labels = torch.cat([p.labels for p in parts.values()])
    share = torch.bincount(labels.reshape(-1).long(), minlength=4).double() / labels.numel() * 100
    # The sample's README: Building, Sky, Tree, Other = 13.55 / 21.61 / 12.59 / 52.25 %.
    assert torch.allclose(share, torch.tensor([13.55, 21.61, 12.59, 52.25]).double(), atol=0.01)
    # Every colour is in class_dict.csv, so camvid11 loads without error; void ~3.40 %.
    eleven = torch.cat([load_split(root, s, "camvid11", progress=False).labels for s in parts])
    assert abs((eleven == 255).double().mean().item() * 100 - 3.40) < 0.01
    images, lbl = random_crops(parts["train"], 352, torch.Generator().manual_seed(0))
    assert images.shape == (8, 3, 352, 352) and lbl.shape == (8, 352, 352)
    tiles, _ = eval_tiles(parts["val"], 352)
    assert tiles.shape == (4 * 3 * 3, 3, 352, 352)


def test_ai8x_sample_half_scale_is_segnet_size():
    data = load_split(_ai8x_sample(), "val", "camvid11", scale=0.5, progress=False)
    assert data.frame_size == (360, 480)
