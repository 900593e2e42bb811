"""Registry of search spaces: ``--space NAME`` everywhere looks names up here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search_spaces._unet import UNetSpace

SPACES: dict[str, UNetSpace] = {}


def register_space(space: UNetSpace) -> UNetSpace:
    """Add ``space`` under ``space.name``; a name can be registered once."""
    if space.name in SPACES:
        raise ValueError(f"search space {space.name!r} is already registered")
    SPACES[space.name] = space
    return space


def get_space(name: str) -> UNetSpace:
    """The search space registered as ``name``; unknown names list the valid ones."""
    try:
        return SPACES[name]
    except KeyError:
        raise ValueError(
            f"unknown search space {name!r}; available: {list_spaces()}"
        ) from None


def list_spaces() -> list[str]:
    return sorted(SPACES)
