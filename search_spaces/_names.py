"""Spec names: a reference's name when the architecture equals a reference, otherwise
``unet-<10 hex digits>``, a digest of the architecture."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from nas.spec import ArchSpec, get_reference, list_references


def arch_digest(spec: ArchSpec) -> str:
    """10 hex digits identifying the architecture (everything but the name)."""
    d = spec.to_dict()
    d.pop("name")
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


@lru_cache(maxsize=16)
def _reference_names(num_classes: int) -> dict[str, str]:
    return {arch_digest(get_reference(n, num_classes)): n for n in list_references()}


def name_for(spec: ArchSpec) -> str:
    """The reference's name if ``spec`` is a reference's architecture, else ``unet-<digest>``."""
    digest = arch_digest(spec)
    return _reference_names(spec.num_classes).get(digest, f"unet-{digest}")

