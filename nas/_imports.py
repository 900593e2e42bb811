"""``"package.module:function"`` strings -> functions: the entry points configs name as text
(the trainer, the tester, the search's components), so they survive pickling to workers and
tests can swap in fakes."""

from __future__ import annotations

import importlib
from typing import Any


def import_function(name: str, path: str) -> Any:
    """``"package.module:function"`` -> the function (``ValueError`` naming ``name``)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        raise ValueError(f"{name} must be 'module:function', but got {path!r}")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{name}: cannot import {path!r}: {e}") from None
