import pytest
import torch

from nas.data import (
    eval_tiles,
    fold,
    load_split,
    normalize,
    preview_tiles,
    random_crops,
    tile_origins,
    to_int8,
    unfold,
)


@pytest.mark.parametrize("r", [1, 2, 4])
def test_fold_unfold_round_trip(r):
    x = torch.randint(0, 256, (2, 3, 8, 12), dtype=torch.uint8)
    y = fold(x, r)
    assert y.shape == (2, 3 * r * r, 8 // r, 12 // r)
    assert torch.equal(unfold(y, r), x)
    z = torch.randn(1, 5 * r * r, 3, 4)
    assert torch.equal(fold(unfold(z, r), r), z)


@pytest.mark.parametrize("r", [2, 4])
def test_fold_channel_order_is_ai8x(r):
    x = torch.randn(2, 3, 8, 8)
    y = fold(x, r)
    for i in range(r):
        for j in range(r):
            for c in range(3):
                assert torch.equal(y[:, (i * r + j) * 3 + c], x[:, c, i::r, j::r])


def test_fold_errors():
    with pytest.raises(ValueError, match="must divide"):
        fold(torch.zeros(1, 3, 6, 8), 4)
    with pytest.raises(ValueError, match="fold ratio must be one of"):
        fold(torch.zeros(1, 3, 9, 9), 3)
    with pytest.raises(ValueError, match="multiple of r\\*r"):
        unfold(torch.zeros(1, 6, 2, 2), 2)


def test_normalize_matches_ai8x_definition():
    x = torch.tensor([0, 1, 127, 128, 129, 255], dtype=torch.uint8)
    assert to_int8(x).tolist() == [-128, -127, -1, 0, 1, 127]
    assert normalize(x).dtype == torch.float32
    assert normalize(x).tolist() == [v / 128 for v in (-128, -127, -1, 0, 1, 127)]
    # The definition, evaluated independently in float64 on every value.
    allv = torch.arange(256, dtype=torch.uint8)
    ref = ((allv.double() / 256 - 0.5) * 256).round().clamp(-128, 127)
    assert torch.equal(to_int8(allv).double(), ref)
    with pytest.raises(ValueError, match="uint8"):
        to_int8(torch.zeros(3))


def test_tile_origins_cover_and_stay_inside():
    assert tile_origins(360, 352) == [0, 8]
    assert tile_origins(480, 352) == [0, 128]
    assert tile_origins(352, 352) == [0]
    assert tile_origins(720, 352) == [0, 184, 368]
    for length, crop in [(100, 7), (64, 64), (97, 32)]:
        starts = tile_origins(length, crop)
        covered = set()
        for s in starts:
            assert 0 <= s <= length - crop
            covered.update(range(s, s + crop))
        assert covered == set(range(length))


def test_eval_tiles_reassemble_the_frames(maxnas_root):
    data = load_split(maxnas_root, "val", "camvid11", progress=False)
    images, labels = eval_tiles(data, 40)  # 64x96 -> 2 x 3 tiles
    assert images.shape == (len(data) * 6, 3, 40, 40) and labels.shape == (len(data) * 6, 40, 40)
    ys, xs = tile_origins(64, 40), tile_origins(96, 40)
    rebuilt = torch.zeros_like(data.images)
    rebuilt_lbl = torch.zeros_like(data.labels)
    k = 0
    for n in range(len(data)):
        for y in ys:
            for x in xs:
                rebuilt[n, :, y : y + 40, x : x + 40] = images[k]
                rebuilt_lbl[n, y : y + 40, x : x + 40] = labels[k]
                k += 1
    assert torch.equal(rebuilt, data.images) and torch.equal(rebuilt_lbl, data.labels)


def test_preview_tiles_spread_over_the_split(maxnas_root):
    data = load_split(maxnas_root, "val", "camvid11", progress=False)
    images, labels = eval_tiles(data, 40)  # 6 tiles per frame
    some, their_labels = preview_tiles(data, 40, 3)
    assert len(images) == 24  # 4 frames
    picked = [0, 12, 23]  # first, middle (11.5), last
    assert torch.equal(some, images[picked]) and torch.equal(their_labels, labels[picked])
    every, _ = preview_tiles(data, 40, 10 * len(images))
    assert torch.equal(every, images)  # fewer tiles than asked: all of them, once
    with pytest.raises(ValueError, match="n must be >= 1"):
        preview_tiles(data, 40, 0)


def test_random_crops_are_windows_of_the_frames_and_seeded(maxnas_root):
    data = load_split(maxnas_root, "train", "camvid4", progress=False)
    images, labels = random_crops(data, 32, torch.Generator().manual_seed(0))
    again, _ = random_crops(data, 32, torch.Generator().manual_seed(0))
    assert images.shape == (4, 3, 32, 32) and labels.shape == (4, 32, 32)
    assert images.dtype == torch.uint8 and labels.dtype == torch.uint8
    assert torch.equal(images, again)
    for n in range(len(data)):  # find the window: image and label must come from one place
        hits = [
            (y, x)
            for y in range(64 - 32 + 1)
            for x in range(96 - 32 + 1)
            if torch.equal(data.images[n, :, y : y + 32, x : x + 32], images[n])
        ]
        assert hits
        y, x = hits[0]
        assert torch.equal(data.labels[n, y : y + 32, x : x + 32], labels[n])
    full, _ = random_crops(data, 64, torch.Generator().manual_seed(1))  # crop = frame height
    assert full.shape[-2:] == (64, 64)
    with pytest.raises(ValueError, match="crop must fit"):
        random_crops(data, 65, torch.Generator())
    with pytest.raises(ValueError, match="crop must fit"):
        eval_tiles(data, 352)


def test_unfold_of_folded_logits_matches_ai8x_definition():
    # channel (i*r + j)*C + c is class c at pixel (r*y + i, r*x + j) (ai8x unfold_batch)
    r, c = 4, 3
    y = torch.randn(2, c * r * r, 5, 6)
    out = unfold(y, r)
    assert out.shape == (2, c, 20, 24)
    for i in range(r):
        for j in range(r):
            k = (i * r + j) * c
            torch.testing.assert_close(out[:, :, i::r, j::r], y[:, k:k + c])
    with pytest.raises(ValueError, match="multiple of r\\*r"):
        unfold(torch.zeros(1, 10, 2, 2), 4)
