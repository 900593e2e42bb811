"""Running ai8x-synthesis (izer) on an export, and reading what it wrote.

izer is a separate, public toolchain (analogdevicesinc/ai8x-synthesis); nothing of it is part
of this package. ``run_izer`` calls its ``ai8xize.py`` from the synthesis repository root (izer
requires that), and the parsers read its ``log.txt`` and ``sampleoutput.h``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nas.hardware import DEFAULT_DEVICE

QAT_POLICY_FILE = "qat_policy.yaml"  # written next to the network YAML by nas.export.export

# izer's data memory addressing (izer/tornadocnn.py, izer/unload.py), 8-bit output.
_ADDRESSING = {
    # device: (APB base + C_SRAM_BASE, words per quad of processors, group offset in bytes)
    "MAX78000": (0x50000000 + 0x400000, 2048, 0x400000),
    "MAX78002": (0x50000000 + 0x1000000 + 0x800000, 8192, 0x1000000),
}


def izer_args(
    prefix: str,
    checkpoint: str,
    config: str,
    sample: str,
    device: str = DEFAULT_DEVICE,
    test_dir: str = "sdk/Examples/CNN",
    max_checklines: int | None = 8192,
) -> list[str]:
    """Arguments for ``ai8xize.py`` as ai8x's own CamVid U-Net demo uses them.

    ``--overlap-data`` is needed because layers write near their own input (in place); the
    exporter's memory plan is what guarantees that no live tensor is overwritten.
    """
    args = ["--test-dir", test_dir, "--prefix", prefix, "--checkpoint-file", checkpoint,
            "--config-file", config, "--sample-input", sample, "--device", device,
            "--timer", "0", "--display-checkpoint", "--verbose", "--overlap-data", "--mlator",
            "--no-unload"]
    if max_checklines is not None:
        args += ["--max-checklines", str(max_checklines)]
    if device == "MAX78000":
        args.append("--new-kernel-loader")
    return args + ["--no-version-check"]


@dataclass
class IzerRun:
    """One ai8xize.py run: exit code, wall time (s), the output folder and its figures."""

    returncode: int
    seconds: float
    out_dir: Path
    stdout: str
    log: IzerLog | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.log is not None


@dataclass
class IzerLog:
    """Figures izer prints in ``log.txt``.

    Attributes:
        weight_bytes: "Weight memory: N bytes".
        bias_bytes: "Bias memory: N bytes".
        latency_cycles: "ESTIMATED LATENCY ... Total N cycles" (MAX78000 only, else None).
        layer_cycles: per-layer estimated cycles, in layer order.
    """

    weight_bytes: int
    bias_bytes: int
    latency_cycles: int | None
    layer_cycles: list[int] = field(default_factory=list)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_izer_log(text: str) -> IzerLog:
    """Read the resource and latency figures from izer's ``log.txt``."""
    w = re.search(r"Weight memory:\s+([\d,]+) bytes", text)
    b = re.search(r"Bias memory:\s+([\d,]+) bytes", text)
    if w is None or b is None:
        raise ValueError("no 'Weight memory' / 'Bias memory' lines in the izer log")
    latency, layers = None, []
    block = re.search(r"ESTIMATED LATENCY\n(.*?)Total\s+([\d,]+) cycles", text, re.S)
    if block:
        latency = _int(block.group(2))
        layers = [_int(m) for m in re.findall(r"^Layer \d+\s+([\d,]+)$", block.group(1), re.M)]
    return IzerLog(_int(w.group(1)), _int(b.group(1)), latency, layers)


def run_izer(
    synthesis_dir: str | Path,
    export_dir: str | Path,
    out_dir: str | Path,
    *,
    prefix: str,
    device: str = DEFAULT_DEVICE,
    python: str | None = None,
    max_checklines: int | None = None,
    timeout: float = 900,
) -> IzerRun:
    """Run ``ai8xize.py`` on an export folder (made by :func:`nas.export.export`).

    Args:
        synthesis_dir: ai8x-synthesis repository root (izer must run from there).
        export_dir: the export folder; its ``*-q.pth.tar``, ``*.yaml`` and ``sample_*.npy``
            are used.
        out_dir: izer's ``--test-dir``; results land in ``out_dir/prefix``.
        python: interpreter with izer's requirements (default: this one).
        max_checklines: limit on known-answer words (None: all, so the whole output can be
            compared with a simulation).
    """
    synthesis_dir, export_dir = Path(synthesis_dir).resolve(), Path(export_dir).resolve()
    out_dir = Path(out_dir).resolve()
    if not (synthesis_dir / "ai8xize.py").is_file():
        raise ValueError(f"{synthesis_dir} is not an ai8x-synthesis checkout (no ai8xize.py)")

    def one(pattern: str) -> str:
        # the export's qat_policy.yaml is for ai8x-training, not izer's network description
        found = [p for p in sorted(export_dir.glob(pattern)) if p.name != QAT_POLICY_FILE]
        if len(found) != 1:
            raise ValueError(f"expected one {pattern} in {export_dir}, found {len(found)}")
        return str(found[0])

    args = izer_args(prefix, one("*-q.pth.tar"), one("*.yaml"), one("sample_*.npy"), device,
                     str(out_dir), max_checklines)
    start = time.perf_counter()
    proc = subprocess.run([python or sys.executable, "ai8xize.py", *args], cwd=synthesis_dir,
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    log_file = out_dir / prefix / "log.txt"
    log = None
    if proc.returncode == 0 and log_file.is_file():
        log = parse_izer_log(log_file.read_text())
    return IzerRun(proc.returncode, seconds, out_dir / prefix, proc.stdout + proc.stderr, log)


def read_sample_output(path: str | Path) -> dict[int, tuple[int, int]]:
    """``sampleoutput.h`` as ``{address: (mask, expected word)}``.

    The array is a list of blocks ``address, mask, count, word * count`` ended by 0.
    """
    text = Path(path).read_text()
    values = [int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]+)", text)]
    words: dict[int, tuple[int, int]] = {}
    i = 0
    while i < len(values) and values[i] != 0:
        addr, mask, count = values[i : i + 3]
        for j in range(count):
            words[addr + 4 * j] = (mask, values[i + 3 + j])
        i += 3 + count
    return words


def ffs(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def output_words(
    out: np.ndarray,
    output_processors: int,
    out_offset: int,
    write_gap: int = 0,
    device: str = DEFAULT_DEVICE,
) -> dict[int, list[tuple[int, int, int, int]]]:
    """Where izer puts each byte of an 8-bit layer output in data memory.

    Mirrors izer's ``unload.verify`` address arithmetic (HWC, channel passes of
    ``popcount(output_processors)`` channels).

    Returns:
        ``{address: [(byte index, channel, row, col), ...]}``.
    """
    base, quad_words, group_bytes = _ADDRESSING[device]
    channels, height, width = out.shape
    thresh = bin(output_processors).count("1")
    expand = -(-channels // thresh)
    start = ffs(output_processors) & ~3
    first_map = output_processors >> start
    words: dict[int, list[tuple[int, int, int, int]]] = {}
    for doffs in range(height * width):
        row, col = divmod(doffs, width)
        c, poffs, this_map = 0, start, first_map
        while c < channels:
            if c % thresh == 0:
                poffs, this_map = start, first_map
            pass_no = c // thresh
            proc = poffs & ~3
            entries = []
            for byte in range(4):
                if this_map & 1:
                    if c < channels:
                        entries.append((byte, c, row, col))
                    c += 1
                this_map >>= 1
            if entries:
                addr = base + out_offset + (
                    ((proc % 16) * quad_words | (proc // 16) * group_bytes // 4)
                    + (doffs * expand + pass_no) * (write_gap + 1)) * 4
                words[addr] = entries
            poffs += 4
    return words


@dataclass(frozen=True)
class OutputComparison:
    """Simulated output vs izer's expected output (sampleoutput.h)."""

    values_compared: int
    values_total: int
    mismatches: int
    first_mismatch: str | None

    @property
    def equal(self) -> bool:
        return self.mismatches == 0 and self.values_compared > 0


def compare_sample_output(
    simulated: np.ndarray,
    sample_output_h: str | Path,
    output_processors: int,
    out_offset: int,
    write_gap: int = 0,
    device: str = DEFAULT_DEVICE,
) -> OutputComparison:
    """Compare every value izer's known-answer test checks with our simulated output."""
    expected = read_sample_output(sample_output_h)
    layout = output_words(simulated, output_processors, out_offset, write_gap, device)
    compared = mismatches = 0
    first = None
    for addr, entries in layout.items():
        if addr not in expected:
            continue  # izer truncates with --max-checklines
        mask, word = expected[addr]
        for byte, c, row, col in entries:
            if not (mask >> (8 * byte)) & 0xFF:
                continue
            want = (word >> (8 * byte)) & 0xFF
            got = int(simulated[c, row, col]) & 0xFF
            compared += 1
            if want != got:
                mismatches += 1
                if first is None:
                    first = (f"channel {c}, row {row}, col {col}: izer {np.int8(want)}, "
                             f"simulated {np.int8(got)}")
    return OutputComparison(compared, int(simulated.size), mismatches, first)
