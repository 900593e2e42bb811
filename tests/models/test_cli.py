import argparse

import pytest

from nas.models import cli
from nas.spec import ArchSpec, get_reference


def _run(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_sample_is_deterministic(tmp_path, capsys):
    for out in ("a", "b"):
        assert _run(["sample", "--n", "4", "--seed", "3", "--out", str(tmp_path / out)]) == 0
    a = sorted((tmp_path / "a").iterdir())
    b = sorted((tmp_path / "b").iterdir())
    assert len(a) == 4 and [p.name for p in a] == [p.name for p in b]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(a, b, strict=True))
    assert all(isinstance(ArchSpec.load(p), ArchSpec) for p in a)


def test_sample_unknown_space_lists_names(tmp_path):
    with pytest.raises(ValueError, match="unet_max78000"):
        _run(["sample", "--space", "nope", "--out", str(tmp_path)])


def test_describe_reference(capsys):
    assert _run(["describe", "--reference", "ai85unetlarge"]) == 0
    out = capsys.readouterr().out
    for name in ("prep0", "bneck", "upconv3", "dec1_1", "conv_p3"):
        assert name in out
    assert "278,176 weights + 908 biases" in out
    assert "layer weight bytes: 278,176" in out


def test_describe_file(tmp_path, capsys):
    spec = get_reference("unetmysmall")
    spec.save(tmp_path / "a.json")
    assert _run(["describe", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "110,016 weights + 888 biases" in out
    assert "prep0_dw" in out and "upconv1+enc1" in out
