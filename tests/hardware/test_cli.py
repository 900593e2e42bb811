"""``python -m nas check``: table, JSON and exit codes (0 feasible, 1 infeasible, 2 bad input)."""

from __future__ import annotations

import json

import pytest

from nas.__main__ import main
from nas.spec import get_reference


def test_reference_table(capsys):
    assert main(["check", "--reference", "ai85unetlarge"]) == 0
    out = capsys.readouterr().out
    assert "Weight memory: 281,312 bytes out of 442,368 bytes total (63.6%)" in out
    assert "Bias memory:   908 bytes" in out and "[224, 224, 240, 220]" in out
    assert "4,754,426 cycles" in out and "Feasible:      yes" in out
    assert " pt " in out and "0x00ffffffffffffff" in out
    # izer's 281,312 B minus the spec's own 278,176 B = the two copy layers' weights
    assert "3,136 of them are izer's copy layers" in out
    assert "Param bytes:   282,220 bytes" in out


def test_json_at_48x48(capsys):
    assert main(["check", "--reference", "ai85unetlarge", "--input-size", "48", "48",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["feasible"] is True and d["latency_cycles"] == 1_416_401
    assert d["kernel_offsets"][:3] == [44, 0, 8] and d["bias_groups"] == [224, 224, 240, 220]


def test_arch_file_infeasible_exit_1(tmp_path, capsys):
    path = tmp_path / "arch.json"
    get_reference("ai85unetlarge", num_classes=33).save(path)
    assert main(["check", str(path), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["feasible"] is False
    assert {v["limit"] for v in d["violations"]} >= {"data_memory_output", "bias_per_layer"}
    assert main(["check", str(path), "--device", "MAX78002"]) == 1
    assert "NO (" in capsys.readouterr().out


def test_bad_input_exit_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["check", "--reference", "nope"]) == 2
    assert "available" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # refused by argparse, with the valid choices
        main(["check", "--reference", "ai85unetlarge", "--device", "MAX9"])
    assert e.value.code == 2 and "MAX78000" in capsys.readouterr().err
