import json

import numpy as np
import optuna
import pytest
import torch

from nas.__main__ import main
from nas.spec import get_reference

SIZE = ["--input-size", "16"]


def test_reference_untrained(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["export", "--reference", "unetmysmall", "--untrained", "--out", str(out),
                 *SIZE]) == 0
    text = capsys.readouterr().out
    assert "izer should print: Weight memory 110,016 bytes" in text
    assert (out / "maxnas_unetmysmall-q.pth.tar").is_file()
    # a second run refuses, --force overwrites
    assert main(["export", "--reference", "unetmysmall", "--untrained", "--out", str(out),
                 *SIZE]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", "--reference", "unetmysmall", "--untrained", "--out", str(out),
                 "--force", *SIZE]) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--reference", "unetmysmall"], "no weights"),
    (["--untrained"], "exactly one of"),
    (["--reference", "nope", "--untrained"], "unknown reference"),
    (["--reference", "unetmysmall-x86", "--untrained"], "does not fit MAX78000"),
    (["--study", "s", "--untrained"], "--study and --trial go together"),
])
def test_bad_input_is_one_clean_error(tmp_path, capsys, argv, message):
    assert main(["export", *argv, "--out", str(tmp_path / "x"), *SIZE]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_arch_json_with_checkpoint_and_real_sample(tmp_path):
    from nas.data.synthetic import make_synthetic_camvid
    from nas.models import build_model
    from nas.train import save_checkpoint

    spec = get_reference("unetmysmall")
    arch = tmp_path / "arch.json"
    spec.save(arch)
    data = make_synthetic_camvid(tmp_path / "camvid", n_per_split=1, size=(64, 96))
    ckpt = save_checkpoint(tmp_path / "c.pth.tar", spec=spec, model=build_model(spec).eval(),
                           task="camvid4", preset="smoke",
                           metrics={"miou": 0.5, "pixel_accuracy": 0.8}, epoch=3)
    out = tmp_path / "e"
    assert main(["export", str(arch), "--checkpoint", str(ckpt), "--data-dir", str(data),
                 "--out", str(out), *SIZE]) == 0
    sample = np.load(out / "sample_camvid4.npy")
    assert sample.shape == (48, 16, 16) and sample.dtype == np.int64
    assert len(np.unique(sample)) > 10  # a real image crop, not constant
    f = torch.load(out / "maxnas_unetmysmall.pth.tar", weights_only=True)
    assert f["epoch"] == 40 and f["extras"]["maxnas_epoch"] == 3  # ai8x QAT start
    assert f["extras"]["maxnas_val_miou"] == 0.5
    # the checkpoint must belong to the architecture
    other = tmp_path / "other.json"
    get_reference("ai85unetlarge").save(other)
    assert main(["export", str(other), "--checkpoint", str(ckpt), "--synthetic-sample",
                 "--out", str(tmp_path / "e2"), *SIZE]) == 2
    # the checkpoint alone is enough: it stores its architecture
    assert main(["export", "--checkpoint", str(ckpt), "--synthetic-sample",
                 "--out", str(tmp_path / "e3"), *SIZE]) == 0
    assert (tmp_path / "e3" / "maxnas_unetmysmall-q.pth.tar").is_file()


def _study(tmp_path, name="s"):
    """A study like nas.search writes: spec JSON per trial, checkpoint as an artifact."""
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    from nas.models import build_model
    from nas.train import save_checkpoint

    studies = tmp_path / "studies"
    studies.mkdir()
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{studies / name}.db",
                                directions=["maximize", "minimize"])
    store_dir = studies / name / "artifacts"
    store_dir.mkdir(parents=True)
    store = FileSystemArtifactStore(str(store_dir))
    spec = get_reference("unetmysmall")
    # 0: trained and feasible
    t = study.ask()
    t.set_user_attr("spec", spec.to_json(indent=None))
    t.set_user_attr("feasible", True)
    ckpt = save_checkpoint(tmp_path / "c.pth.tar", spec=spec, model=build_model(spec).eval(),
                           task="camvid4", preset="smoke", metrics={"miou": 0.4}, epoch=1)
    t.set_user_attr("checkpoint_artifact_id",
                    upload_artifact(artifact_store=store, file_path=str(ckpt), study_or_trial=t))
    study.tell(t, [0.4, 1000])
    # 1: infeasible
    t = study.ask()
    t.set_user_attr("spec", get_reference("unetmysmall-x86").to_json(indent=None))
    t.set_user_attr("feasible", False)
    t.set_user_attr("violations", ["layer enc1_dw: depthwise needs MAX78002"])
    study.tell(t, [0.0, 1000])
    # 2: failed; 3: complete without a spec; 4: feasible, not trained
    t = study.ask()
    t.set_user_attr("fail_reason", "RuntimeError: boom")
    study.tell(t, state=optuna.trial.TrialState.FAIL)
    study.tell(study.ask(), [0.0, 1.0])
    t = study.ask()
    t.set_user_attr("spec", spec.to_json(indent=None))
    t.set_user_attr("feasible", True)
    study.tell(t, [0.0, 1000])
    return studies


def test_study_trial_export(tmp_path, capsys):
    studies = _study(tmp_path)
    out = tmp_path / "e"
    base = ["export", "--study", "s", "--studies-dir", str(studies), *SIZE]
    assert main([*base, "--trial", "0", "--synthetic-sample", "--out", str(out)]) == 0
    meta = json.loads((out / "export.json").read_text())
    assert meta["trained"] is True
    assert "study s trial 0" in (out / "README.md").read_text()
    # a feasible but untrained trial exports with --untrained only
    assert main([*base, "--trial", "4", "--untrained", "--out", str(tmp_path / "u")]) == 0
    capsys.readouterr()
    for trial, message in [("1", "infeasible"), ("2", "FAIL"), ("3", "no 'spec'"),
                           ("4", "not trained"), ("9", "no trial 9")]:
        assert main([*base, "--trial", trial, "--out", str(tmp_path / f"x{trial}")]) == 2
        err = capsys.readouterr().err
        assert message in err, (trial, err)
    assert main(["export", "--study", "nope", "--trial", "0", "--studies-dir", str(studies),
                 "--untrained", "--out", str(tmp_path / "y")]) == 2
    assert "no study database" in capsys.readouterr().err


def test_study_export_takes_the_studys_device_and_input_size(tmp_path, capsys):
    """Without --device / --input-size, a study's trial is exported for what it was searched
    for (its stored config), not for the CLI defaults (MAX78000, 88x88)."""
    studies = _study(tmp_path)
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{studies / 's'}.db")
    study.set_user_attr("config", {"device": "MAX78002", "input_size": [16, 16],
                                   "task": "camvid4"})
    out = tmp_path / "e"
    assert main(["export", "--study", "s", "--studies-dir", str(studies), "--trial", "4",
                 "--untrained", "--out", str(out)]) == 0
    meta = json.loads((out / "export.json").read_text())
    assert (meta["device"], meta["input_size"]) == ("MAX78002", [16, 16])
    # an explicit flag still wins
    assert main(["export", "--study", "s", "--studies-dir", str(studies), "--trial", "4",
                 "--untrained", "--device", "MAX78000", "--input-size", "24",
                 "--out", str(tmp_path / "f")]) == 0
    meta = json.loads((tmp_path / "f" / "export.json").read_text())
    assert (meta["device"], meta["input_size"]) == ("MAX78000", [24, 24])


def test_a_float_checkpoint_of_a_low_bit_net_is_exported_with_a_warning(tmp_path, capsys):
    from nas.models import build_model, enable_qat
    from nas.train import save_checkpoint

    spec = get_reference("unetmysmall-w4")
    floats = save_checkpoint(tmp_path / "f.pth.tar", spec=spec,
                             model=build_model(spec).eval(), task="camvid4", preset="proxy",
                             metrics={"miou": 0.5}, epoch=10, qat=False)
    assert main(["export", "--checkpoint", str(floats), "--synthetic-sample",
                 "--out", str(tmp_path / "f"), *SIZE]) == 0
    err = capsys.readouterr().err
    assert "trained as an 8-bit net, so its 4-bit weights are only quantised now" in err
    # a priced medium run: QAT, but at 8 bits (its metrics keep the measured mIoU)
    priced = save_checkpoint(tmp_path / "m.pth.tar", spec=spec,
                             model=enable_qat(build_model(spec)).eval(), task="camvid4",
                             preset="medium", metrics={"miou": 0.5, "measured_miou": 0.51},
                             epoch=20, qat=True)
    assert main(["export", "--checkpoint", str(priced), "--synthetic-sample",
                 "--out", str(tmp_path / "m"), *SIZE]) == 0
    assert "trained as an 8-bit net" in capsys.readouterr().err
    qat = save_checkpoint(tmp_path / "q.pth.tar", spec=spec,
                          model=enable_qat(build_model(spec)).eval(), task="camvid4",
                          preset="full", metrics={"miou": 0.5}, epoch=100, qat=True)
    assert main(["export", "--checkpoint", str(qat), "--synthetic-sample",
                 "--out", str(tmp_path / "q"), *SIZE]) == 0
    assert "trained as an 8-bit net" not in capsys.readouterr().err
