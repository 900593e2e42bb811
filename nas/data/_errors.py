"""Data errors. All are ``ValueError`` subclasses, so the CLI prints them as one clean line."""

from __future__ import annotations


class DataError(ValueError):
    """Base class of every CamVid input error."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """No CamVid where we looked (the message names each place and how to get it)."""


class LayoutError(DataError):
    """A folder exists but is neither the maxnas nor the ai8x-training layout."""


class CorruptImageError(DataError):
    """An image or label file could not be decoded."""


class SizeMismatchError(DataError):
    """An image and its label (or two frames of one split) differ in size."""


class LabelValueError(DataError):
    """A label pixel holds a value (or colour) outside the task's classes."""


class EmptySplitError(DataError):
    """A split folder is missing or holds no frames."""


class ChecksumError(DataError):
    """A downloaded file does not have the expected SHA-256."""
