import pytest
import torch

from nas.data import get_task
from nas.train import evaluate, get_preset, load_checkpoint, model_from_checkpoint, train
from nas.train._data import load_frames


def test_round_trip_reproduces_metrics(synth_root, cache_dir, spec, tmp_path):
    path = tmp_path / "ckpts" / "tiny.pth.tar"
    preset = get_preset("smoke").replace(epochs=2)
    result = train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir,
                   checkpoint_path=path)
    assert result.checkpoint_path == path and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    ckpt = load_checkpoint(path)
    assert ckpt["spec"] == spec and ckpt["task"] == "camvid4" and ckpt["preset"] == "smoke"
    assert ckpt["epoch"] == 2 and ckpt["metrics"]["miou"] == pytest.approx(result.miou)
    model = model_from_checkpoint(ckpt)
    task = get_task("camvid4")
    images, labels = load_frames(synth_root, "val", task, preset.scale, preset.max_val_frames,
                                 cache_dir=cache_dir, progress=False, tiles=preset.eval_crop)
    cm = evaluate(model, spec, images, labels, num_classes=4, amp=preset.amp)
    assert cm.miou() == pytest.approx(result.miou)


def test_qat_phase_and_reload(synth_root, cache_dir, spec, tmp_path):
    path = tmp_path / "qat.pth.tar"
    preset = get_preset("smoke").replace(epochs=2, qat_epochs=1)
    result = train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir,
                   checkpoint_path=path)
    assert [h["qat"] for h in result.history] == [False, True]
    ckpt = load_checkpoint(path)
    assert ckpt["qat"] is True
    model = model_from_checkpoint(ckpt)
    out = model(torch.zeros(1, spec.input_channels, 8, 8))
    assert out.shape == (1, spec.output_channels, 8, 8)


def test_bad_checkpoint_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pth.tar")
    junk = tmp_path / "junk.pth.tar"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        load_checkpoint(junk)
    torch.save({"state_dict": {}}, tmp_path / "foreign.pth.tar")
    with pytest.raises(ValueError, match="missing keys"):
        load_checkpoint(tmp_path / "foreign.pth.tar")


def test_low_bit_nets_get_their_qat_epochs(synth_root, cache_dir, spec):
    from nas.spec import with_inner_bits

    preset = get_preset("smoke").replace(epochs=2, low_bit_qat_epochs=1, qat_lr_scale=0.25)
    low = train(with_inner_bits(spec, 4), "camvid4", preset, synth_root, progress=False,
                cache_dir=cache_dir)
    assert [h["qat"] for h in low.history] == [False, True]
    # smoke's schedule is constant: the QAT epoch runs at qat_lr_scale x lr
    assert low.history[1]["lr"] == pytest.approx(0.25 * low.history[0]["lr"])
    full = train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir)
    assert [h["qat"] for h in full.history] == [False, False]  # 8-bit: qat_epochs (0) rules
    with pytest.raises(ValueError, match="low_bit_qat_epochs"):
        preset.replace(low_bit_qat_epochs=3)
