"""Runs the real ai8x-synthesis (izer) on our exports. Needs AI8X_SYNTHESIS_DIR (a checkout of
analogdevicesinc/ai8x-synthesis) and optionally AI8X_PYTHON (an interpreter with its
requirements); skipped otherwise."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.export import (
    check_yaml_liveness,
    compare_sample_output,
    export,
    read_yaml_layers,
    run_izer,
)
from nas.hardware import check
from nas.spec import get_reference
from tests.conftest import require

SYNTHESIS = os.environ.get("AI8X_SYNTHESIS_DIR")
PYTHON = os.environ.get("AI8X_PYTHON", sys.executable)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _needs_izer() -> None:
    require(bool(SYNTHESIS), "AI8X_SYNTHESIS_DIR (an ai8x-synthesis checkout) is not set")


def test_izer_accepts_export_and_agrees(tmp_path):
    spec = get_reference("unetmysmall")
    size = (32, 32)
    res = export(spec, tmp_path / "export", input_size=size, seed=2)
    run = run_izer(SYNTHESIS, res.out_dir, tmp_path / "izer", prefix=res.arch, python=PYTHON)
    assert run.returncode == 0, run.stdout[-2000:]
    report = check(spec, input_size=size)
    assert run.log.weight_bytes == report.weight_bytes
    assert run.log.bias_bytes == report.bias_bytes
    assert run.log.latency_cycles == report.latency_cycles
    assert run.log.layer_cycles == list(report.layer_cycles)
    layers = read_yaml_layers(res.files["yaml"].read_text())
    last = layers[-1]
    cmp = compare_sample_output(np.load(res.files["expected"]), run.out_dir / "sampleoutput.h",
                                int(last["output_processors"]), int(last["out_offset"]))
    assert cmp.values_compared == cmp.values_total and cmp.mismatches == 0, cmp.first_mismatch


def test_quantised_checkpoint_is_what_izer_quantize_writes(tmp_path):
    """izer's quantize.py + add_fake_passthrough.py on our float checkpoint == ours, bit for
    bit (same keys, same order, same values), and they load it without any torch flag."""
    spec = get_reference("ai85unetlarge")
    res = export(spec, tmp_path / "export", input_size=(16, 16), seed=3)
    q1, q2 = tmp_path / "q.pth.tar", tmp_path / "q-pt.pth.tar"
    env = {k: v for k, v in os.environ.items() if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
    for cmd in (
        [PYTHON, "quantize.py", str(res.files["float"]), str(q1), "--device", "MAX78000"],
        [PYTHON, "izer/add_fake_passthrough.py", "--input-checkpoint-path", str(q1),
         "--output-checkpoint-path", str(q2), "--layer-name", "pt", "--layer-depth", "56",
         "--layer-name-after-pt", "upconv3"],
    ):
        proc = subprocess.run(cmd, cwd=SYNTHESIS, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    theirs = torch.load(q2, weights_only=True)["state_dict"]
    ours = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
    assert list(theirs) == list(ours)
    for key in ours:
        assert torch.equal(theirs[key], ours[key]), key


def test_izer_on_larger_reference_checks_liveness(tmp_path):
    spec = get_reference("ai85unetlarge")
    size = (24, 24)
    res = export(spec, tmp_path / "export", input_size=size)
    run = run_izer(SYNTHESIS, res.out_dir, tmp_path / "izer", prefix=res.arch, python=PYTHON)
    assert run.returncode == 0, run.stdout[-2000:]
    report = check(spec, input_size=size)
    assert (run.log.weight_bytes, run.log.bias_bytes, run.log.latency_cycles) == (
        report.weight_bytes, report.bias_bytes, report.latency_cycles)
    layers = read_yaml_layers(res.files["yaml"].read_text())
    channels = [layer.out_channels for layer in report.layers]
    assert check_yaml_liveness(layers, channels, (48, *size)) == []
    assert Path(run.out_dir / "cnn.c").is_file()
