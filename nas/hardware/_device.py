"""Device tables: the MAX78000 and MAX78002 limits izer enforces, as data.

Figures from ai8x-synthesis ``izer/tornadocnn.py`` (see ``docs``/reference notes §0).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    """One CNN accelerator, as izer models it.

    Attributes:
        name: ``"MAX78000"`` or ``"MAX78002"``.
        max_layers: most izer layers (YAML sequences) per network.
        processors: processors (64 = ``groups`` x ``processors_per_group``).
        groups: processor groups ("quadrants"); each has its own bias memory.
        processors_per_group: 16.
        shared: processors sharing one data-memory instance (4 channels per 32-bit word).
        kernel_words_large: 72-bit kernel words of processors 0/16/32/48.
        kernel_words_small: kernel words of every other processor.
        kernel_instance_large: words per kernel-memory instance below ``kernel_words_small``
            (only used for depthwise layers when ``weight_mask_instances``).
        kernel_instance_small: words per instance above ``kernel_words_small``.
        weight_mask_instances: depthwise kernels of one layer must share a memory instance.
        bias_bytes_per_group: bias memory of one group, bytes.
        instance_bytes: bytes of one data-memory instance (offsets are per instance).
        max_channels: input/output channels per layer (16 passes x 64).
        max_passes: input passes per layer.
        max_dim: rows/columns of a layer's input and output.
        depthwise: depthwise (groups = channels) convolutions are supported.
        latency_model: izer estimates latency for this device.
        cnn_clock_hz: CNN clock of the generated code (cycles -> seconds).
    """

    name: str
    max_layers: int
    kernel_words_large: int
    kernel_words_small: int
    kernel_instance_large: int
    kernel_instance_small: int
    weight_mask_instances: bool
    bias_bytes_per_group: int
    instance_bytes: int
    max_dim: int
    depthwise: bool
    latency_model: bool
    cnn_clock_hz: float
    processors: int = 64
    groups: int = 4
    processors_per_group: int = 16
    shared: int = 4
    max_channels: int = 1024
    max_passes: int = 16

    def kernel_words(self, proc: int) -> int:
        """Kernel memory of processor ``proc`` in 72-bit words (izer ``mask_width``)."""
        return self.kernel_words_large if proc % self.processors_per_group == 0 \
            else self.kernel_words_small

    @property
    def kernel_bytes_total(self) -> int:
        """What izer prints as "bytes total" for weight memory."""
        return 9 * sum(self.kernel_words(p) for p in range(self.processors))

    @property
    def bias_bytes_total(self) -> int:
        return self.bias_bytes_per_group * self.groups


DEVICES: dict[str, Device] = {
    "MAX78000": Device(
        name="MAX78000", max_layers=32, kernel_words_large=768, kernel_words_small=768,
        kernel_instance_large=768, kernel_instance_small=768, weight_mask_instances=False,
        bias_bytes_per_group=512, instance_bytes=32 * 1024, max_dim=1024, depthwise=False,
        latency_model=True, cnn_clock_hz=50e6,
    ),
    "MAX78002": Device(
        name="MAX78002", max_layers=128, kernel_words_large=5120, kernel_words_small=4096,
        kernel_instance_large=1024, kernel_instance_small=256, weight_mask_instances=True,
        bias_bytes_per_group=2048, instance_bytes=80 * 1024, max_dim=2048, depthwise=True,
        latency_model=False, cnn_clock_hz=200e6,
    ),
}


# The chip every command, config and builder assumes unless told otherwise.
DEFAULT_DEVICE = "MAX78000"


def get_device(name: str | Device) -> Device:
    """Device by name (case-insensitive); unknown names list the valid ones."""
    if isinstance(name, Device):
        return name
    try:
        return DEVICES[str(name).upper()]
    except KeyError:
        raise ValueError(f"unknown device {name!r}; available: {sorted(DEVICES)}") from None


def list_devices() -> list[str]:
    return sorted(DEVICES)
