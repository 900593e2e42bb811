"""Builder: :class:`~nas.spec.ArchSpec` -> ``nn.Module``, one ``FusedBlock`` per chip layer."""

from __future__ import annotations

import torch
from torch import nn

from nas.models._blocks import FusedBlock
from nas.spec import ArchSpec


class UNet(nn.Module):
    """A MAX7800x U-Net built from a spec, layer for layer as the chip runs it.

    Input: folded float images ``[B, spec.input_channels, H, W]`` on the int8 grid (ai8x
    ``normalize``: values in [-1, 127/128]); H and W multiples of ``spec.min_input_multiple``.
    Output: folded logits ``[B, spec.output_channels, H, W]``; ``nas.data.unfold`` restores
    full resolution.

    Attributes:
        spec: the architecture.
        blocks: ``ModuleDict`` of :class:`FusedBlock` keyed by ``Layer.name``, in execution
            order (the order izer maps checkpoint weights to YAML layers).
    """

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        layers = spec.layers()
        self.blocks = nn.ModuleDict(
            {layer.name: FusedBlock(layer, spec.batchnorm) for layer in layers}
        )
        # The graph as integer slots, computed once so forward is a flat loop: slot 0 is the
        # network input, slot k + 1 the output of block k.
        slot = {"": 0} | {layer.name: k + 1 for k, layer in enumerate(layers)}
        self._sources: list[tuple[int, ...]] = [
            tuple(slot[name] for name in layer.inputs) if layer.inputs else (0,)
            for layer in layers
        ]
        last_use = {s: k for k, srcs in enumerate(self._sources) for s in srcs}
        # Slots no later block reads, dropped after block k so eval memory stays small.
        self._free: list[tuple[int, ...]] = [
            tuple(s for s, k2 in last_use.items() if k2 == k) for k in range(len(layers))
        ]

    @property
    def fold_ratio(self) -> int:
        return self.spec.fold_ratio

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor | None] = [x]
        for block, srcs, free in zip(self.blocks.values(), self._sources, self._free, strict=True):
            if len(srcs) == 1:
                h = outs[srcs[0]]
            else:  # skip connection: channel concat in Layer.inputs order
                h = torch.cat([outs[s] for s in srcs], dim=1)  # type: ignore[misc]
            for s in free:
                outs[s] = None
            outs.append(block(h))
        return outs[-1]  # type: ignore[return-value]


def build_model(spec: ArchSpec) -> UNet:
    """Build the PyTorch model of ``spec`` (float mode; see :func:`nas.models.enable_qat`).

    Args:
        spec: the architecture.

    Returns:
        A :class:`UNet` whose ``blocks`` match ``spec.layers()`` one to one. Its parameter
        count is ``spec.weight_count() + spec.bias_count()`` plus 2 per BN channel when
        ``spec.batchnorm == "affine"``.
    """
    if not isinstance(spec, ArchSpec):
        raise ValueError(f"build_model needs an ArchSpec, but got {type(spec).__name__}")
    return UNet(spec)
