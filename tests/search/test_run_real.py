"""The real space, hardware model and smoke trainer on a synthetic CamVid."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from nas.data.synthetic import make_synthetic_camvid
from nas.search import SearchConfig, run
from nas.search.cli import main
from nas.spec import ArchSpec, get_reference
from nas.studyio import checkpoint_path


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    return make_synthetic_camvid(tmp_path_factory.mktemp("camvid"))


def test_smoke_search_end_to_end(camvid, tmp_path):
    cfg = SearchConfig(n_trials=3, preset="smoke", data_dir=camvid, studies_dir=tmp_path,
                       study_name="e2e", progress=False, torch_threads=1)
    result = run(cfg)
    study = optuna.load_study(study_name="e2e", storage=cfg.storage_url)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 3 and result.counts["COMPLETE"] == 3
    trials = pd.read_csv(tmp_path / "e2e" / "trials.csv")
    assert {"ai85unetlarge", "unetmysmall"} <= set(trials["reference"].dropna())
    html = (tmp_path / "e2e" / "report.html").read_text()
    assert "ai85unetlarge" in html and "unetmysmall" in html
    assert (tmp_path / "e2e" / "pareto.csv").exists()
    (large,) = [t for t in complete if t.user_attrs.get("reference") == "ai85unetlarge"]
    assert large.user_attrs["feasible"] and large.user_attrs["trained"]
    assert ArchSpec.from_json(large.user_attrs["spec"]) == get_reference("ai85unetlarge")
    # the reference replays the space's parameters, so the sampler learns from it
    from search_spaces import get_space

    expected = get_space("unet_max78000").params_for(get_reference("ai85unetlarge"))
    assert large.params == expected and large.user_attrs["reference_params"] is True
    assert large.values[1] == large.user_attrs["weight_bytes"] + large.user_attrs["bias_bytes"]
    assert 0.0 <= large.values[0] <= 1.0 and len(large.user_attrs["per_class_iou"]) == 4
    assert large.user_attrs["train_seconds"] > 0 and "pixel_accuracy" in large.user_attrs
    losses = large.user_attrs["train_losses"]  # one per epoch, the trainer's own
    assert len(losses) == large.user_attrs["epochs"] and all(v > 0 for v in losses)
    # the checkpoint artifact rebuilds the trained spec without retraining
    from nas.train import load_checkpoint

    ckpt = load_checkpoint(checkpoint_path(study, large.number, cfg.artifact_path))
    spec = ckpt["spec"]
    spec = spec if isinstance(spec, ArchSpec) else ArchSpec.from_dict(spec)
    assert spec == get_reference("ai85unetlarge")


def test_missing_data_dir_is_a_clear_error_before_the_study(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CAMVID_DIR", raising=False)
    code = main(["--data-dir", str(tmp_path / "nowhere"), "--studies-dir", str(tmp_path / "s"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "nowhere" in err
    assert not (tmp_path / "s" / "maxnas.db").exists()


def test_unknown_names_list_valid_choices(tmp_path, capsys):
    for flag, bad, valid in (("--space", "unet_big", "unet_max78000"),
                             ("--task", "camvid5", "camvid4"),
                             ("--preset", "huge", "smoke"),
                             ("--device", "MAX99999", "MAX78000")):
        try:
            code = main([flag, bad, "--studies-dir", str(tmp_path), "--no-progress"])
        except SystemExit as e:  # caught while parsing the options: argparse's usage error
            code = e.code
        err = capsys.readouterr().err
        assert code == 2 and bad in err and valid in err, (flag, err)
