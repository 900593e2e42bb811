import numpy as np
import pytest
import torch
from PIL import Image

from nas.data import SplitData, detect_layout, load_split
from nas.data._classes import CAMVID11_NAMES, CAMVID32, CAMVID32_TO_11
from nas.data.synthetic import make_synthetic_camvid


def test_synthetic_layouts_on_disk(maxnas_root, ai8x_root):
    assert detect_layout(maxnas_root) == "maxnas" and detect_layout(ai8x_root) == "ai8x"
    assert (maxnas_root / "classes.csv").is_file()
    assert len(list((maxnas_root / "images" / "train").glob("*.jpg"))) == 4
    assert (ai8x_root / "class_dict.csv").is_file()
    assert len(list((ai8x_root / "val_labels").glob("*_L.png"))) == 4


def test_synthetic_is_deterministic(tmp_path):
    a = make_synthetic_camvid(tmp_path / "a", layout="ai8x", seed=3)
    b = make_synthetic_camvid(tmp_path / "b", layout="ai8x", seed=3)
    for p in a.rglob("*.png"):
        assert p.read_bytes() == (b / p.relative_to(a)).read_bytes()
    with pytest.raises(ValueError, match="layout must be one of"):
        make_synthetic_camvid(tmp_path / "c", layout="kaggle")


@pytest.mark.parametrize("layout", ["maxnas", "ai8x"])
@pytest.mark.parametrize("task", ["camvid4", "camvid11"])
def test_load_split_shapes_and_types(tmp_path, layout, task):
    root = make_synthetic_camvid(tmp_path / layout, layout=layout, n_per_split=3, size=(32, 48))
    data = load_split(root, "test", task, progress=False)
    assert isinstance(data, SplitData) and len(data) == 3 and data.split == "test"
    assert data.images.shape == (3, 3, 32, 48) and data.images.dtype == torch.uint8
    assert data.labels.shape == (3, 32, 48) and data.labels.dtype == torch.uint8
    assert data.names == sorted(data.names) and data.task.name == task
    valid = set(range(data.task.num_classes)) | {255}
    assert set(data.labels.unique().tolist()) <= valid


def test_maxnas_camvid11_labels_are_the_stored_indices(maxnas_root):
    data = load_split(maxnas_root, "train", "camvid11", progress=False)
    for n, name in enumerate(data.names):
        stored = np.asarray(Image.open(maxnas_root / "labels" / "train" / f"{name}.png"))
        assert np.array_equal(data.labels[n].numpy(), stored)
        rgb = np.asarray(Image.open(maxnas_root / "images" / "train" / f"{name}.jpg"))
        assert np.array_equal(data.images[n].permute(1, 2, 0).numpy(), rgb)


def test_ai8x_colours_map_through_class_dict(ai8x_root):
    colour_to_name = {rgb: name for name, rgb in CAMVID32}
    data = load_split(ai8x_root, "val", "camvid11", progress=False)
    for n, name in enumerate(data.names):
        mask = np.asarray(Image.open(ai8x_root / "val_labels" / f"{name}_L.png"))
        expect = np.empty(mask.shape[:2], dtype=np.uint8)
        for rgb in {tuple(c) for c in mask.reshape(-1, 3).tolist()}:
            src = colour_to_name[rgb]
            value = 255 if src == "Void" else CAMVID11_NAMES.index(CAMVID32_TO_11[src])
            expect[(mask == rgb).all(-1)] = value
        assert np.array_equal(data.labels[n].numpy(), expect)


def test_both_layouts_give_the_same_camvid4_labels(maxnas_root, ai8x_root):
    # Same seed: same rectangles; Building/Sky/Tree in both, everything else is Other.
    a = load_split(maxnas_root, "train", "camvid4", progress=False)
    b = load_split(ai8x_root, "train", "camvid4", progress=False)
    assert torch.equal(a.labels, b.labels)
    assert set(a.labels.unique().tolist()) == {0, 1, 2, 3}


def test_synthetic_class_is_visible_in_the_colour(maxnas_root):
    # Learnable: nearest palette colour of each pixel recovers its camvid11 label.
    data = load_split(maxnas_root, "train", "camvid11", progress=False)
    means = torch.stack(
        [data.images.permute(0, 2, 3, 1)[data.labels == c].float().mean(0) for c in range(11)]
    )
    pix = data.images.permute(0, 2, 3, 1).float()
    nearest = torch.cdist(pix.reshape(-1, 3), means).argmin(1).reshape(data.labels.shape)
    known = data.labels != 255
    assert (nearest[known] == data.labels[known].long()).float().mean() > 0.99


def test_scale_halves_frames_with_area_images_and_nearest_labels(maxnas_root):
    full = load_split(maxnas_root, "val", "camvid11", progress=False)
    half = load_split(maxnas_root, "val", "camvid11", scale=0.5, progress=False)
    assert half.images.shape == (4, 3, 32, 48) and half.frame_size == (32, 48)
    area = full.images.float().reshape(4, 3, 32, 2, 48, 2).mean((3, 5))
    assert (half.images.float() - area).abs().max() <= 1
    # Nearest: every label pixel is one of the four source pixels it covers.
    blocks = full.labels.reshape(4, 32, 2, 48, 2).permute(0, 1, 3, 2, 4).reshape(4, 32, 48, 4)
    assert (blocks == half.labels.unsqueeze(-1)).any(-1).all()


def test_scale_must_be_in_range(maxnas_root):
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match=r"scale must be in \(0, 1\]"):
            load_split(maxnas_root, "val", "camvid4", scale=bad, progress=False)


def test_class_fractions_sum_to_100(maxnas_root):
    data = load_split(maxnas_root, "val", "camvid11", progress=False)
    fr = data.class_fractions()
    assert abs(sum(fr.values()) - 100) < 1e-6
    counts = torch.bincount(data.labels.reshape(-1).long(), minlength=256)
    assert fr["Sky"] == pytest.approx(100 * counts[0].item() / data.labels.numel())
