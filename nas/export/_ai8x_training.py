"""Run the real ai8x-training ``train.py`` on exports, as a user would after copying the
generated module into its ``models/`` folder.

ai8x-training is a separate toolchain (its own interpreter and requirements); this only builds
a working folder and runs it as a subprocess. The checkout is never modified: the working folder
links every top-level entry of the checkout except ``models/`` (a folder of links to upstream's
model files plus the exported modules) and ``train.py`` (copied: Python puts the real folder of
the script on ``sys.path``, and that must be the working folder so ``models.*`` resolve there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_TOP1 = re.compile(r"==> Top1: ([0-9.]+)")
# ai8x-training's develop train.py reads ``args.quantize_eval`` after --evaluate has printed
# its results, but its parser no longer defines that option: every evaluation then ends in
# this AttributeError (upstream's own checkpoints too).
_QUANTIZE_EVAL_BUG = "object has no attribute 'quantize_eval'"
_LOG_FILE = re.compile(r"Log file for this run: (\S+)")


@dataclass(frozen=True)
class TrainRun:
    """One ``train.py`` run.

    Attributes:
        returncode: train.py's exit status.
        output: its stdout and stderr together.
        top1: the last ``==> Top1`` it printed (pixel accuracy in percent for segmentation),
            or None.
        log_dir: the folder it wrote its log and checkpoints to, or None.
    """

    returncode: int
    output: str
    top1: float | None
    log_dir: Path | None

    @property
    def ok(self) -> bool:
        """Exit status 0, or an --evaluate that printed Top-1 and then failed only on
        upstream's missing ``args.quantize_eval``."""
        if self.returncode == 0:
            return True
        tracebacks = self.output.count("Traceback (most recent call last)")
        bug = self.output.count(_QUANTIZE_EVAL_BUG)
        return self.top1 is not None and bug > 0 and tracebacks <= bug


def training_overlay(training_dir: str | Path, modules: Iterable[str | Path],
                     dest: str | Path) -> Path:
    """A working copy of the ai8x-training checkout in ``dest`` with ``modules`` added to
    ``models/``; returns ``dest``.

    Raises:
        ValueError: no ``train.py`` in ``training_dir``, or a module name already in models/.
    """
    src, dest = Path(training_dir).resolve(), Path(dest)
    if not (src / "train.py").is_file():
        raise ValueError(f"{src} is not an ai8x-training checkout (no train.py)")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.name in ("models", "train.py", "logs", ".git"):
            continue
        (dest / entry.name).symlink_to(entry)
    shutil.copy2(src / "train.py", dest / "train.py")
    models = dest / "models"
    models.mkdir()
    for entry in (src / "models").iterdir():
        (models / entry.name).symlink_to(entry)
    for module in modules:
        module = Path(module)
        if (models / module.name).exists():
            raise ValueError(f"models/{module.name} already exists in {src}")
        shutil.copy2(module, models / module.name)
    return dest


def run_train(
    overlay: str | Path,
    args: Sequence[str],
    python: str,
    timeout: float = 3600,
    threads: int = 1,
) -> TrainRun:
    """Run ``python train.py ARGS`` in ``overlay`` (from :func:`training_overlay`) on the CPU
    with ``threads`` threads; logs go to ``overlay/logs`` unless ``args`` set ``--out-dir``."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore")
    proc = subprocess.run([python, "train.py", *args], cwd=overlay, capture_output=True,
                          text=True, env=env, timeout=timeout)
    out = proc.stdout + proc.stderr
    tops = _TOP1.findall(out)
    logs = _LOG_FILE.findall(out)
    return TrainRun(proc.returncode, out, float(tops[-1]) if tops else None,
                    Path(logs[-1]).parent if logs else None)
