import json

import numpy as np
import pytest
import torch
import yaml

from nas.export import check_yaml_liveness, export, read_yaml_layers, simulate_int8
from nas.hardware import check, verify_plan
from nas.spec import get_reference

SIZE = (16, 16)


def _channels(qsd, report):
    ops = {layer.name: layer.op for layer in report.layers}
    names = [k[: -len(".op.weight")] for k in qsd if k.endswith(".op.weight")]
    assert names == [layer.name for layer in report.layers]  # one weight layer per izer layer
    return [qsd[f"{n}.op.weight"].shape[1 if ops[n] == "convtranspose2d" else 0] for n in names]


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "ai85unetlarge"
    return export(get_reference("ai85unetlarge"), out, input_size=SIZE, seed=1)


def test_export_writes_every_file(large):
    for role in ("module", "float", "quantized", "yaml", "sample", "expected", "spec", "readme"):
        assert large.files[role].is_file(), role
    assert large.files["module"].name == "ai85net-maxnas-ai85unetlarge.py"
    assert large.files["sample"].name == "sample_camvid4.npy"
    meta = json.loads((large.out_dir / "export.json").read_text())
    assert meta["arch"] == "maxnas_ai85unetlarge" and meta["trained"] is False


def test_checkpoints_load_without_flags_and_match_yaml(large):
    q = torch.load(large.files["quantized"], weights_only=True)
    f = torch.load(large.files["float"], weights_only=True)
    cfg = yaml.safe_load(large.files["yaml"].read_text())
    assert q["arch"] == f["arch"] == cfg["arch"] == "maxnas_ai85unetlarge"
    assert {"state_dict", "arch", "epoch", "extras"} <= set(q)
    report = check(get_reference("ai85unetlarge"), input_size=SIZE)
    channels = _channels(q["state_dict"], report)
    assert len(cfg["layers"]) == len(report.layers) == len(channels) == 19
    assert cfg["layers"][7]["in_sequences"] == [5] and cfg["layers"][7]["write_gap"] == 1
    assert "pt.op.weight" in q["state_dict"] and "pt.op.weight" not in f["state_dict"]


def test_sample_and_expected_output(large):
    spec = get_reference("ai85unetlarge")
    sample = np.load(large.files["sample"])
    assert sample.dtype == np.int64 and sample.shape == (48, *SIZE)
    assert sample.min() >= -128 and sample.max() <= 127
    q = torch.load(large.files["quantized"], weights_only=True)["state_dict"]
    expected = np.load(large.files["expected"])
    assert np.array_equal(expected, simulate_int8(spec, q, sample)["conv"])


def test_readme_has_both_commands_and_predictions(large):
    text = large.files["readme"].read_text()
    report = check(get_reference("ai85unetlarge"), input_size=SIZE)
    assert "--device MAX78000" in text and "--device MAX78002" in text
    assert "--checkpoint-file $EXPORT/maxnas_ai85unetlarge-q.pth.tar" in text
    assert f"{report.weight_bytes:,} bytes" in text
    assert f"{report.latency_cycles:,} cycles" in text
    assert large.predicted["MAX78000"]["weight_bytes"] == report.weight_bytes


@pytest.mark.parametrize(("ref", "sizes"), [("ai85unetlarge", (SIZE, (88, 88))),
                                            ("unetmysmall", (SIZE, (48, 48)))])
def test_exported_yaml_keeps_every_tensor_alive(ref, sizes, tmp_path):
    """Walk the exported YAML: no live tensor's words are written before its last reader."""
    spec = get_reference(ref)
    for size in sizes:
        res = export(spec, tmp_path / f"{ref}{size[0]}", input_size=size)
        report = check(spec, input_size=size)
        q = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
        layers = read_yaml_layers(res.files["yaml"].read_text())
        assert check_yaml_liveness(layers, _channels(q, report),
                                   (spec.input_channels, *size)) == []
        assert verify_plan(report.plan) == []  # the hardware package's own proof agrees


def test_sampled_architectures_export_cleanly(tmp_path):
    from search_spaces import get_space, sample_specs

    done = 0
    for spec in sample_specs(get_space("unet_max78000"), 40, seed=3):
        report = check(spec, input_size=SIZE)
        if not report.feasible:
            continue
        if done == 3:
            break
        res = export(spec, tmp_path / f"s{done}", input_size=SIZE)
        q = torch.load(res.files["quantized"], weights_only=True)["state_dict"]
        layers = read_yaml_layers(res.files["yaml"].read_text())
        assert check_yaml_liveness(layers, _channels(q, report),
                                   (spec.input_channels, *SIZE)) == [], spec.name
        done += 1
    assert done >= 3


def test_liveness_walker_catches_a_clobbered_skip(large):
    layers = read_yaml_layers(large.files["yaml"].read_text())
    spec = get_reference("ai85unetlarge")
    q = torch.load(large.files["quantized"], weights_only=True)["state_dict"]
    channels = _channels(q, check(spec, input_size=SIZE))
    shape = (48, *SIZE)
    # enc1 (layer 3) is read again by dec1 (layer 13); let enc2 (layer 4) write over it
    bad = [dict(layer) for layer in layers]
    bad[4]["output_processors"] = bad[3]["output_processors"]
    bad[4]["out_offset"] = bad[3]["out_offset"]
    problems = check_yaml_liveness(bad, channels, shape)
    assert any(p.startswith("layer 4 overwrites layer 3's output") and "last reader, layer 13"
               in p for p in problems)
    # a reader pointed at the wrong offset is caught too
    bad = [dict(layer) for layer in layers]
    bad[9]["in_offset"] = bad[9]["in_offset"] + 4
    assert any(p.startswith("layer 9: reads") for p in check_yaml_liveness(bad, channels, shape))


def test_refuses_existing_folder_unless_forced(tmp_path):
    spec = get_reference("unetmysmall")
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        export(spec, out, input_size=SIZE)
    export(spec, out, input_size=SIZE, force=True)
    assert (out / "README.md").is_file()


def test_infeasible_spec_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not fit MAX78000"):
        export(get_reference("unetmysmall-x86"), tmp_path / "x", input_size=SIZE)
    assert not (tmp_path / "x").exists()


def test_bad_sample_shape(tmp_path):
    with pytest.raises(ValueError, match="sample must have shape"):
        export(get_reference("unetmysmall"), tmp_path / "x", input_size=SIZE,
               sample=np.zeros((3, 16, 16), dtype=np.int64))


def test_trained_model_export_matches_qat_forward(tmp_path, bn_model):
    from nas.models import enable_qat

    spec, model = bn_model
    sample = torch.randint(-128, 128, (spec.input_channels, *SIZE))
    res = export(spec, tmp_path / "t", model=model, sample=sample.numpy(), input_size=SIZE,
                 epoch=7)
    assert res.trained
    f = torch.load(res.files["float"], weights_only=True)
    assert f["epoch"] == 40 and f["extras"]["maxnas_epoch"] == 7  # ai8x QAT start
    assert f["extras"]["maxnas_trained"] is True
    assert not any(".bn." in k for k in f["state_dict"])  # BN folded into op.weight/op.bias
    enable_qat(model)
    with torch.no_grad():
        ref = (model(sample[None].float() / 128)[0] * 128).numpy().astype(np.int64)
    assert np.array_equal(np.load(res.files["expected"]), ref)


def test_prediction_drops_all_zero_bias_layers(tmp_path):
    """izer stores no biases for a layer whose quantised biases are all zero."""
    from nas.export import random_layer_params
    from nas.export._checkpoint import LayerParams

    spec = get_reference("ai85unetlarge")
    params = random_layer_params(spec, seed=0)
    p = params["conv"]
    params["conv"] = LayerParams(p.weight, torch.zeros_like(p.bias), p.bits)
    res = export(spec, tmp_path / "z", params=params, input_size=SIZE)
    pred = res.predicted["MAX78000"]
    model = check(spec, input_size=SIZE).bias_bytes
    assert pred["zero_bias_layers"] == ["conv"] and pred["bias_bytes_model"] == model
    assert pred["bias_bytes"] == model - 64  # conv: 64 outputs starting at processor 0
    assert "all quantised biases are zero" in res.files["readme"].read_text()
