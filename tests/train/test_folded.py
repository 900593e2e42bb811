"""The trainer scores folded logits against folded labels: same loss and confusion counts as
on logits unfolded to label resolution."""

import pytest
import torch
import torch.nn.functional as F

from nas.data import fold, unfold
from nas.metrics import ConfusionMatrix
from nas.models import build_model
from nas.train._data import fold_labels, prepare_batch
from nas.train._trainer import forward_logits
from tests.train.conftest import tiny_spec


@pytest.mark.parametrize("r", [1, 2, 4])
def test_fold_labels_matches_fold_of_the_image(r):
    labels = torch.randint(0, 250, (3, 8 * r, 4 * r), dtype=torch.uint8)
    # fold() puts pixel (h*r + i, w*r + j) into channel i*r + j of a 1-channel image
    expect = fold(labels[:, None].float(), r).reshape(3 * r * r, 8, 4)
    assert torch.equal(fold_labels(labels, r).float(), expect)


@pytest.mark.parametrize("weighted", [False, True])
def test_folded_loss_equals_unfolded_loss(weighted):
    r, classes = 4, 5
    torch.manual_seed(0)
    y = torch.randn(2, r * r * classes, 6, 7, dtype=torch.float64)
    labels = torch.randint(0, classes, (2, 6 * r, 7 * r))
    labels[0, :5, :9] = 255  # ignored pixels
    weight = torch.rand(classes, dtype=torch.float64) + 0.5 if weighted else None
    plain = F.cross_entropy(unfold(y, r), labels, weight=weight, ignore_index=255)
    folded = F.cross_entropy(y.reshape(2 * r * r, classes, 6, 7), fold_labels(labels, r),
                             weight=weight, ignore_index=255)
    torch.testing.assert_close(folded, plain)


@pytest.mark.parametrize("channels_last", [False, True])
def test_forward_logits_and_confusion_match_unfolded(channels_last):
    spec = tiny_spec(num_classes=4, fold_ratio=4)
    torch.manual_seed(0)
    model = build_model(spec).eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 4, (2, 32, 32), dtype=torch.uint8)
    labels[1, 3:7] = 255
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    x, t = prepare_batch(images, labels, 4, torch.device("cpu"), channels_last)
    assert t.dtype == torch.int64 and t.shape == (2 * 16, 8, 8)
    with torch.no_grad():
        logits = forward_logits(model, x, 4, "none")
        full = unfold(model(x).float(), 4)
    assert logits.shape == (2 * 16, 4, 8, 8) and logits.dtype == torch.float32
    torch.testing.assert_close(unfold(logits.reshape(2, 64, 8, 8), 4), full)
    folded, plain = ConfusionMatrix(4, 255), ConfusionMatrix(4, 255)
    folded.update(logits.argmax(1), t)
    plain.update(full.argmax(1), labels.long())
    assert torch.equal(folded.matrix, plain.matrix)
    assert folded.matrix.sum() == 2 * 32 * 32 - 4 * 32  # ignored pixels left out
