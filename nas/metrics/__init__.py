"""Segmentation metrics computed from a confusion matrix."""

from nas.metrics._confusion import ConfusionMatrix

__all__ = ["ConfusionMatrix"]
