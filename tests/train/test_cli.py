from nas.__main__ import main
from nas.train import load_checkpoint


def test_train_reference_smoke(synth_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mysmall.pth.tar"
    rc = main(["train", "--reference", "unetmysmall", "--preset", "smoke", "--task", "camvid4",
               "--data-dir", str(synth_root), "--out", str(out), "--no-progress",
               "--threads", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "mIoU" in text and "pixel accuracy" in text and "seconds" in text
    assert load_checkpoint(out)["spec"].name == "unetmysmall"


def test_train_arch_json_and_errors(synth_root, tmp_path, capsys, spec):
    arch = tmp_path / "tiny.json"
    spec.save(arch)
    rc = main(["train", str(arch), "--preset", "smoke", "--data-dir", str(synth_root),
               "--out", str(tmp_path / "t.pth.tar"), "--no-progress", "--json"])
    assert rc == 0 and '"miou"' in capsys.readouterr().out
    assert main(["train", str(arch), "--preset", "nope", "--data-dir", str(synth_root)]) == 2
    assert "unknown preset" in capsys.readouterr().err
