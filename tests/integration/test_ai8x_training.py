"""The export README's ai8x-training commands, run with the real train.py on exports of both
references and a mixed-bit net: evaluate (float, and -8 with the stock CamVid QAT policy),
fine-tune one epoch, resume, and the exported QAT policy keeping each layer's bits through
``ai8x.initiate_qat``; with ai8x-synthesis too, ``quantize.py`` reproducing our ``-q`` file.

Needs AI8X_TRAINING_DIR (an ai8x-training checkout with distiller) and AI8X_TRAINING_PYTHON
(an interpreter with its requirements); AI8X_SYNTHESIS_DIR / AI8X_PYTHON for quantize.py.
``make test-ai8x-training`` (or ``pytest -m integration``) fails when they are missing. Data:
one synthetic 960x720 frame per split in ai8x's CamVid layout. Minutes of CPU per export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.data.synthetic import make_synthetic_camvid
from nas.export import export
from nas.export._ai8x_training import run_train, training_overlay
from nas.spec import ArchSpec, get_reference, with_bits_cycle
from tests.conftest import require

TRAINING = os.environ.get("AI8X_TRAINING_DIR")
PYTHON = os.environ.get("AI8X_TRAINING_PYTHON", sys.executable)
SYNTHESIS = os.environ.get("AI8X_SYNTHESIS_DIR")
SYNTHESIS_PYTHON = os.environ.get("AI8X_PYTHON", sys.executable)

pytestmark = pytest.mark.integration

# (reference, izer input size): unetmysmall does not fit MAX78000 at 88x88
NETS = {"ai85unetlarge": (88, 88), "unetmysmall": (32, 32), "mixed": (32, 32)}




def _spec(name: str) -> ArchSpec:
    if name == "mixed":
        return with_bits_cycle(get_reference("unetmysmall"))
    return get_reference(name)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    require(bool(TRAINING), "AI8X_TRAINING_DIR (an ai8x-training checkout) is not set")
    root = tmp_path_factory.mktemp("ai8x-training")
    exports = {name: export(_spec(name), root / name, input_size=size, seed=1)
               for name, size in NETS.items()}
    overlay = training_overlay(TRAINING, [e.files["module"] for e in exports.values()],
                               root / "overlay")
    data = root / "data"
    make_synthetic_camvid(data / "CamVid", layout="ai8x", n_per_split=1, size=(720, 960))
    return overlay, data, exports


def _args(res, data: Path, logs: Path, policy: str) -> list[str]:
    return ["--model", res.arch, "--dataset", "CamVid_s352_c3", "--data", str(data),
            "--out-fold-ratio", "4", "--use-bias", "--device", "MAX78000", "--qat-policy",
            policy, "--workers", "0", "--out-dir", str(logs), "--deterministic"]


def _train(res, data: Path, logs: Path) -> list[str]:
    return ["--epochs", "1", "--optimizer", "Adam", "--lr", "0.001", "--wd", "0",
            "--batch-size", "8", "--validation-split", "0",
            "--compress", "policies/schedule-camvid.yaml",
            *_args(res, data, logs, str(res.files["qat_policy"]))]


@pytest.mark.parametrize("name", list(NETS))
def test_evaluate_float_and_int8_with_stock_policy(setup, name, tmp_path):
    overlay, data, exports = setup
    res = exports[name]
    for extra, ckpt, policy in (
        ([], res.files["float"], str(res.files["qat_policy"])),
        (["-8"], res.files["quantized"], "policies/qat_policy_camvid.yaml"),
    ):
        run = run_train(overlay, ["--evaluate", *extra, *_args(res, data, tmp_path, policy),
                                  "--exp-load-weights-from", str(ckpt)], PYTHON)
        assert run.ok and run.top1 is not None, run.output[-3000:]
        assert "Missing key" not in run.output and "missing" not in run.output.lower()


@pytest.mark.parametrize("name", list(NETS))
def test_fine_tune_and_resume_keep_bits(setup, name, tmp_path):
    overlay, data, exports = setup
    res = exports[name]
    bits = {layer.name: layer.bits for layer in res_spec(res).layers()}
    for start in (["--exp-load-weights-from", str(res.files["float"])],
                  ["--resume-from", str(res.files["float"]), "--reset-optimizer"]):
        run = run_train(overlay, [*_train(res, data, tmp_path / start[0][2:]), *start], PYTHON)
        assert run.ok, run.output[-3000:]
        saved = sorted(run.log_dir.glob("*checkpoint.pth.tar"))
        assert saved, list(run.log_dir.iterdir())
        sd = torch.load(saved[0], map_location="cpu", weights_only=False)["state_dict"]
        assert {n: int(sd[f"{n}.weight_bits"].item()) for n in bits} == bits


def res_spec(res) -> ArchSpec:
    return ArchSpec.load(res.files["spec"])


_INITIATE_QAT = """
import json, sys
import torch
import ai8x, parse_qat_yaml
from pydoc import locate
module, arch, ckpt, policy = sys.argv[1:5]
ai8x.set_device(85, False, False)
m = getattr(locate('models.' + module), arch)(bias=True)
ai8x.fuse_bn_layers(m)
m.load_state_dict(torch.load(ckpt, map_location='cpu')['state_dict'])
ai8x.initiate_qat(m, parse_qat_yaml.parse(policy))
print(json.dumps({n: int(x.weight_bits.item()) for n, x in m.named_children()}))
"""


@pytest.mark.parametrize("name", ["mixed"])
def test_initiate_qat_with_exported_policy_keeps_bits(setup, name):
    overlay, _, exports = setup
    res = exports[name]
    bits = {layer.name: layer.bits for layer in res_spec(res).layers()}
    assert set(bits.values()) != {8}

    def qat(policy: str) -> dict[str, int]:
        proc = subprocess.run(
            [PYTHON, "-c", _INITIATE_QAT, res.files["module"].stem, res.arch,
             str(res.files["float"]), policy], cwd=overlay, capture_output=True, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert qat(str(res.files["qat_policy"])) == bits
    # the stock policy is what resets them (why the export ships its own)
    assert set(qat("policies/qat_policy_camvid.yaml").values()) == {8}


@pytest.mark.parametrize("name", list(NETS))
def test_quantize_py_reproduces_quantized_checkpoint(setup, name, tmp_path):
    require(bool(SYNTHESIS), "AI8X_SYNTHESIS_DIR (an ai8x-synthesis checkout) is not set")
    _, _, exports = setup
    res = exports[name]
    out = tmp_path / "q.pth.tar"
    env = {k: v for k, v in os.environ.items() if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
    proc = subprocess.run([SYNTHESIS_PYTHON, "quantize.py", str(res.files["float"]), str(out),
                           "--device", "MAX78000"], cwd=SYNTHESIS, capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    theirs = torch.load(out, weights_only=True)["state_dict"]
    ours = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
    assert set(theirs) <= set(ours)  # ours may add izer copy layers
    for key, value in theirs.items():
        assert torch.equal(value, ours[key]), key
