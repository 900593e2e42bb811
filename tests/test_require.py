"""Integration tests asked for explicitly fail when their tool is missing; they never pass
having checked nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AI8X_SYNTHESIS_DIR"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/export/test_izer.py", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_izer_fails_a_run_that_asked_for_integration_tests():
    run = _pytest("-m", "integration")
    assert run.returncode != 0 and "cannot skip" in run.stdout, run.stdout[-2000:]


def test_missing_izer_only_skips_when_not_asked_for():
    run = _pytest("-m", "not slow")  # selects the izer tests without asking for the marker
    assert run.returncode == 0 and "skipped" in run.stdout, run.stdout[-2000:]
