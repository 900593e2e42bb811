"""Tasks: label sets the search trains on, and how source classes map into them."""

from __future__ import annotations

from dataclasses import dataclass, field

from nas.data._classes import CAMVID11_NAMES, CAMVID32_TO_11, VOID


@dataclass(frozen=True)
class Task:
    """A segmentation label set.

    Attributes:
        name: registry name, e.g. ``"camvid11"``.
        class_names: output classes; the label value is the position in this tuple.
        ignore_index: label value ignored by the loss and the metrics.
        class_weights: optional loss weights, one per class.
        source_map: source class name (11-class or 32-class CamVid) -> task label value
            (``ignore_index`` allowed). Matching is case-insensitive.
        default: label value for source classes not in ``source_map`` and for colours that
            match no class; ``None`` makes them an error.
        description: one line for listings.
    """

    name: str
    class_names: tuple[str, ...]
    ignore_index: int = VOID
    class_weights: tuple[float, ...] | None = None
    source_map: tuple[tuple[str, int], ...] = field(default=(), repr=False)
    default: int | None = field(default=None, repr=False)
    description: str = ""

    def __post_init__(self) -> None:
        if self.class_weights is not None and len(self.class_weights) != len(self.class_names):
            raise ValueError(
                f"class_weights needs one weight per class ({len(self.class_names)}), "
                f"got {len(self.class_weights)}"
            )
        if not 0 <= self.ignore_index <= 255 or self.ignore_index < len(self.class_names):
            raise ValueError(
                f"ignore_index must be in [num_classes, 255], got {self.ignore_index}"
            )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def map_name(self, source_name: str) -> int | None:
        """Task label value for a source class name, or ``None`` if it has none."""
        key = source_name.strip().lower()
        for name, value in self.source_map:
            if name.lower() == key:
                return value
        return self.default


def _camvid11() -> Task:
    pairs = [(n, i) for i, n in enumerate(CAMVID11_NAMES)]
    pairs += [("Sidewalk", CAMVID11_NAMES.index("Pavement")), ("Void", VOID)]
    pairs += [(src, CAMVID11_NAMES.index(dst)) for src, dst in CAMVID32_TO_11.items()]
    return Task(
        name="camvid11",
        class_names=CAMVID11_NAMES,
        source_map=tuple(dict(pairs).items()),
        default=None,
        description="SegNet's 11 CamVid classes; void ignored",
    )


def _camvid4() -> Task:
    # ai8x-training's CamVid_s352_c3 grouping and order; every other class, void and
    # unmatched colours become Other (a real class, not ignored).
    return Task(
        name="camvid4",
        class_names=("Building", "Sky", "Tree", "Other"),
        source_map=(("Building", 0), ("Sky", 1), ("Tree", 2)),
        default=3,
        description="Building, Sky, Tree, Other (ai8x CamVid_s352_c3); nothing ignored",
    )


TASKS: dict[str, Task] = {t.name: t for t in (_camvid4(), _camvid11())}


def get_task(name: str | Task) -> Task:
    """Look a task up by name (a ``Task`` is returned as is)."""
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; valid tasks: {sorted(TASKS)}") from None


def list_tasks() -> list[str]:
    return sorted(TASKS)
