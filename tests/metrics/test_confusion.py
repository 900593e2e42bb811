import math

import pytest
import torch

from nas.metrics import ConfusionMatrix


def test_hand_computed_matrix():
    # targets and predictions for 3 classes, 10 labelled pixels + 2 ignored.
    target = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 255, 255]])
    pred = torch.tensor([[0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2]])
    cm = ConfusionMatrix(3, ignore_index=255)
    cm.update(pred, target)
    assert cm.matrix.tolist() == [[3, 1, 0], [0, 2, 1], [1, 0, 2]]
    # IoU: class0 3/(4+4-3)=3/5, class1 2/(3+3-2)=2/4, class2 2/(3+3-2)=2/4
    assert cm.per_class_iou() == pytest.approx([0.6, 0.5, 0.5])
    assert cm.miou() == pytest.approx((0.6 + 0.5 + 0.5) / 3)
    assert cm.pixel_accuracy() == pytest.approx(7 / 10)


def test_empty_union_class_is_excluded_from_miou():
    target = torch.tensor([0, 0, 1, 1])
    pred = torch.tensor([0, 1, 1, 1])
    cm = ConfusionMatrix(4)
    cm.update(pred, target)
    iou = cm.per_class_iou()
    assert iou[0] == pytest.approx(0.5) and iou[1] == pytest.approx(2 / 3)
    assert math.isnan(iou[2]) and math.isnan(iou[3])
    assert cm.miou() == pytest.approx((0.5 + 2 / 3) / 2)


def test_predicted_but_absent_class_counts_with_zero_iou():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([2, 0]), torch.tensor([0, 0]))
    assert cm.per_class_iou()[2] == 0.0
    assert cm.miou() == pytest.approx((0.5 + 0.0) / 2)


def test_logits_and_accumulation():
    logits = torch.zeros(1, 2, 1, 3)
    logits[0, 1, 0, 2] = 1.0  # predicts [0, 0, 1]
    target = torch.tensor([[[0, 1, 1]]])
    cm = ConfusionMatrix(2)
    cm.update(logits, target)
    cm.update(logits, target)
    assert cm.matrix.tolist() == [[2, 0], [2, 2]]
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)
    s = cm.summary(["a", "b"])
    assert set(s["per_class_iou"]) == {"a", "b"}
    cm.reset()
    assert cm.matrix.sum() == 0 and cm.pixel_accuracy() == 0.0 and cm.miou() == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="num_classes"):
        ConfusionMatrix(1)
    cm = ConfusionMatrix(2)
    with pytest.raises(ValueError, match="same shape"):
        cm.update(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="predicted classes"):
        cm.update(torch.tensor([5]), torch.tensor([0]))
