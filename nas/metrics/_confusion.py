"""Confusion-matrix segmentation metrics: mIoU, per-class IoU, pixel accuracy."""

from __future__ import annotations

import math

import torch


class ConfusionMatrix:
    """Accumulates a ``num_classes x num_classes`` confusion matrix over many batches.

    Rows are the true class, columns the predicted class. Pixels whose target equals
    ``ignore_index`` are skipped; so are targets outside ``[0, num_classes)``.

    Args:
        num_classes: number of classes (>= 2).
        ignore_index: target value that marks unlabelled pixels (255 in CamVid).

    Example:
        >>> cm = ConfusionMatrix(2)
        >>> cm.update(torch.tensor([[0, 1]]), torch.tensor([[0, 0]]))
        >>> cm.pixel_accuracy()
        0.5
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, but got num_classes={num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def reset(self) -> None:
        self.matrix.zero_()

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch.

        Args:
            pred: predicted class indices ``[B, H, W]``, or logits ``[B, C, H, W]`` (argmax
                over dim 1 is taken).
            target: true class indices ``[B, H, W]`` (any integer dtype).
        """
        if pred.dim() == target.dim() + 1:
            pred = pred.argmax(dim=1)
        if pred.shape != target.shape:
            raise ValueError(
                f"pred and target must have the same shape, but got {tuple(pred.shape)} "
                f"and {tuple(target.shape)}"
            )
        pred = pred.reshape(-1).to("cpu", torch.int64)
        target = target.reshape(-1).to("cpu", torch.int64)
        n = self.num_classes
        keep = (target != self.ignore_index) & (target >= 0) & (target < n)
        pred, target = pred[keep], target[keep]
        if pred.numel() and (pred.min() < 0 or pred.max() >= n):
            raise ValueError(f"predicted classes must be in [0, {n}), but got values outside")
        self.matrix += torch.bincount(target * n + pred, minlength=n * n).reshape(n, n)

    # -- derived metrics ----------------------------------------------------------------
    def per_class_iou(self) -> list[float]:
        """IoU per class: TP / (TP + FP + FN); NaN where the union is empty."""
        m = self.matrix.double()
        tp = m.diag()
        union = m.sum(0) + m.sum(1) - tp
        return [float(t / u) if u > 0 else math.nan for t, u in zip(tp, union, strict=True)]

    def miou(self) -> float:
        """Mean IoU over the classes with a non-empty union (0.0 if there are none)."""
        ious = [v for v in self.per_class_iou() if not math.isnan(v)]
        return sum(ious) / len(ious) if ious else 0.0

    def pixel_accuracy(self) -> float:
        """Correct pixels / labelled pixels (ai8x's "Top1"); 0.0 if nothing was labelled."""
        total = int(self.matrix.sum())
        return float(self.matrix.diag().sum()) / total if total else 0.0

    def summary(self, class_names: list[str] | tuple[str, ...] | None = None) -> dict:
        """``{"miou", "pixel_accuracy", "per_class_iou": {name: iou}}`` (JSON-able)."""
        names = list(class_names) if class_names else [str(i) for i in range(self.num_classes)]
        if len(names) != self.num_classes:
            raise ValueError(
                f"class_names must have {self.num_classes} entries, but got {len(names)}"
            )
        return {
            "miou": self.miou(),
            "pixel_accuracy": self.pixel_accuracy(),
            "per_class_iou": dict(zip(names, self.per_class_iou(), strict=True)),
        }
