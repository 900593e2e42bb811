"""The data-memory budget of a U-Net being built: how many processors per pass the live
full-resolution tensors leave to deeper levels (see "Data memory" in
``docs/search_space.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search_spaces._unet import UNetSpace

PASS_WIDTH = 64  # processors per pass


def _processors(width: int) -> int:
    """Processors per pass a tensor of ``width`` channels occupies (4 share one instance)."""
    return min(PASS_WIDTH, -(-width // 4) * 4)


class Budget:
    """Processors per pass left to deeper levels by live full-resolution tensors.

    Filled level by level while a trial is built (and replayed by ``params_for``); see
    "Data memory" in ``docs/search_space.md`` for the rules. Sizes come from the folded input
    and the device's data-memory instance.
    """

    def __init__(self, space: UNetSpace) -> None:
        self.space = space
        self.size = space.input_size
        self.full = space.full_res_width()
        self.w1 = self.up1 = 0
        self.skip1 = False

    def holds(self, level: int) -> bool:
        """Whether a 1-pass full-resolution tensor keeps a level-``level`` 1-pass tensor out of
        its data-memory instances (the two do not fit one instance together)."""
        if not self.space.data_memory_caps:
            return False
        return self.map_bytes(1) + self.map_bytes(level) > self.space.instance_bytes

    def map_bytes(self, level: int) -> int:
        """Bytes per instance of a 1-pass map at ``level`` (4 channels per 32-bit word)."""
        h, w = self.size
        return 4 * (h // 2 ** (level - 1)) * (w // 2 ** (level - 1))

    def _x_cap(self) -> int | None:
        # the level-2 tensor upconv1 reads must avoid upconv1's output and, with the level-1
        # skip, enc1 (upconv1 sits right below it)
        if not self.holds(2):
            return None
        return PASS_WIDTH - _processors(self.up1) - (_processors(self.w1) if self.skip1 else 0)

    def enc_cap(self, level: int, depth: int) -> int | None:
        if level == 1:
            return self.full // 2  # dec1 concatenates two enc1-wide parts at full resolution
        if not self.holds(level):
            return None
        # enc2 is written while its input enc1 is live; deeper levels only with the skip
        cap = PASS_WIDTH - _processors(self.w1) if level == 2 or self.skip1 else None
        if level == 2 and depth == 2:
            cap = _min(cap, self._x_cap())
        return cap

    def dec_cap(self, level: int, last: bool = False) -> int | None:
        if level == 1:
            return self.full
        if not self.holds(level):
            return None
        cap = PASS_WIDTH - _processors(self.w1) if self.skip1 else None
        if level == 2 and last:
            cap = _min(cap, self._x_cap())
        return cap

    def up_cap(self, level: int) -> int | None:
        if level == 1 and self.holds(2):
            # leave at least one instance to the level-2 tensor it reads
            return min(self.full, PASS_WIDTH - 4)
        return self.dec_cap(level)

    def skip_offered(self, level: int, width: int) -> bool:
        if width > PASS_WIDTH:
            return False  # a concatenation of more than 64 channels interleaves 1-pass parts
        if level == 1:
            return not self.holds(2) or 2 * _processors(width) <= PASS_WIDTH - 4
        if self.skip1 and self.holds(level) and 2 * width <= PASS_WIDTH:
            # a narrow concatenation (skip and upsampling side by side) must avoid enc1
            return _processors(self.w1) + 2 * _processors(width) <= PASS_WIDTH
        return True

    def skip_blocked(self, level: int, width: int) -> bool:
        """The skip is left out only for data memory (not by izer's 64-channel rule)."""
        return width <= PASS_WIDTH and not self.skip_offered(level, width)

    def separable_blocked(self, level: int, width: int, skip: bool) -> bool:
        """Never: a separable decoder level on a concatenation of more than 64 channels was
        left out at level 2 on MAX78000 while the greedy planner was the only one; the exact
        planner places every such spec that the other caps admit (5 of 5 in 1,000 uncapped
        samples, BENCHMARKS.md "Exact data-memory planner"), so the cap went. The method and
        the ``dec{l}_separable_unfit`` flag stay so that parameter names stay stable."""
        return False

    def add(self, level: int, width: int, skip: bool, up: int) -> None:
        if level == 1:
            self.w1, self.skip1, self.up1 = width, skip, up


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)

