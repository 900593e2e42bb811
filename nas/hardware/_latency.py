"""izer's analytic latency estimate (``izer/latency.py``), MAX78000 only.

Cycles of the CNN clock per layer, with pooling before the convolution (izer's default) and
one element-wise operand. The startup adds one cycle to the total.
"""

from __future__ import annotations

STARTUP_CYCLES = 1


def conv_cycles(
    pooled_hw: tuple[int, int], out_hw: tuple[int, int], pool: int, kernel: int, pad: int,
    passes: int, out_slots: int,
) -> int:
    """Cycles of a conv layer.

    Args:
        pooled_hw: rows and columns after pooling (x2 for ConvTranspose2d).
        out_hw: output rows and columns.
        pool: pool size (1 = none).
        kernel: kernel size.
        pad: hardware padding (``2 - pad`` for ConvTranspose2d).
        passes: input passes (izer ``multipass``).
        out_slots: output slots per pass (izer ``kern_count // in_expand``).
    """
    rows, cols = pooled_hw
    out_cols = out_hw[1]
    m = passes
    in_pad = m * 2  # rd_state + tram_wrt
    in_dat = m * (pool * pool + 1)
    col = 2 * pad * (in_pad + 1)
    pad_row = col + cols * (in_pad + 1)
    dat_row_nc = col + cols * (in_dat + 1)
    left = pad * (in_pad + 1)
    dat_row = left + (kernel - 1 - pad) * (in_dat + 1) + (out_cols - pad) * in_dat + in_pad * pad
    pad_bot = left + (kernel - 1 - pad) * (in_pad + 1) + (out_cols - pad) * in_pad + in_pad * pad
    meq_one = 1 if out_slots == 1 and m == 1 else 0
    out_dat = m * out_cols * out_slots + out_slots * meq_one
    return (pad * pad_row + (kernel - 1 - pad) * dat_row_nc
            + (dat_row + out_dat) * (rows - (kernel - 1 - pad)) + pad * (pad_bot + out_dat))


def passthrough_cycles(pooled_hw: tuple[int, int], pool: int, passes: int, timeslots: int) -> int:
    """Cycles of a passthrough layer (``operation: None``)."""
    in_dat = passes * (pool * pool + 1)
    return pooled_hw[0] * pooled_hw[1] * (in_dat + passes * timeslots)
