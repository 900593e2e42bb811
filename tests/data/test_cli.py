import re

from nas.__main__ import main
from nas.data import load_split


def test_cli_prints_sizes_and_fractions(maxnas_root, capsys):
    assert (
        main(["data", "--data-dir", str(maxnas_root), "--task", "camvid4", "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "maxnas layout" in out and "task camvid4" in out
    for split in ("train", "val", "test"):
        assert re.search(rf"^{split}\s+4\s+96x64", out, re.M), out
    data = load_split(maxnas_root, "val", "camvid4", progress=False)
    sky = data.class_fractions()["Sky"]
    row = re.search(r"^\s*1 Sky\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert row and abs(float(row.group(2)) - sky) < 0.006


def test_cli_scale_and_splits(ai8x_root, capsys):
    argv = ["data", "--data-dir", str(ai8x_root), "--splits", "val", "--scale", "0.5"]
    assert main(argv + ["--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^val\s+4\s+48x32", out, re.M) and "train" not in out
    assert "ai8x layout" in out and "Bicyclist" in out


def test_cli_missing_data_is_one_clean_error(tmp_path, capsys):
    assert main(["data", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and err[0].startswith("error: CamVid not found") and "--download" in err[0]
    )


def test_cli_bad_label_is_one_clean_error(maxnas_root, capsys):
    (maxnas_root / "images" / "val" / "0001TP_000004.jpg").write_bytes(b"junk")
    assert main(["data", "--data-dir", str(maxnas_root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot decode" in err and "0001TP_000004.jpg" in err


def test_cli_clear_cache(maxnas_root, cache_dir, capsys):
    assert main(["data", "--data-dir", str(maxnas_root), "--splits", "val", "--no-progress"]) == 0
    assert len(list(cache_dir.glob("*.npy"))) == 2
    assert main(["data", "--clear-cache"]) == 0
    assert "removed 2 cached arrays" in capsys.readouterr().out
    assert list(cache_dir.glob("*.npy")) == []
