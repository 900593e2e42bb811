import json
import math

import pytest
import torch

from nas.train import TrainingDivergedError, get_preset, train
from tests.train.conftest import tiny_spec


def test_overfits_four_images(synth_root, cache_dir, spec):
    preset = get_preset("smoke").replace(
        crop=64, eval_crop=64, epochs=60, batch_size=2, lr=1e-2, schedule="onecycle",
        eval_every=60,
    )
    result = train(spec, "camvid4", preset, synth_root, seed=0, progress=False,
                   val_split="train", cache_dir=cache_dir)
    assert result.miou > 0.9, result.per_class_iou
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_same_seed_same_metrics(synth_root, cache_dir, spec):
    preset = get_preset("smoke").replace(epochs=2)
    runs = [train(spec, "camvid4", preset, synth_root, seed=s, progress=False,
                  cache_dir=cache_dir) for s in (3, 3, 4)]
    a, b, c = runs
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert a.miou == b.miou and a.pixel_accuracy == b.pixel_accuracy
    assert a.per_class_iou == pytest.approx(b.per_class_iou, nan_ok=True)
    assert a.history[0]["loss"] != c.history[0]["loss"]  # the seed matters


def test_callback_gets_val_metrics_each_epoch(synth_root, cache_dir, spec):
    seen = []
    train(spec, "camvid4", get_preset("smoke").replace(epochs=3), synth_root, progress=False,
          cache_dir=cache_dir, callback=lambda e, m: seen.append((e, m)))
    assert [e for e, _ in seen] == [1, 2, 3]
    assert all(0.0 <= m["miou"] <= 1.0 and "per_class_iou" in m for _, m in seen)


def test_callback_returning_true_stops_after_that_epoch(synth_root, cache_dir, spec, tmp_path):
    from nas.train import load_checkpoint

    seen = []
    preset = get_preset("smoke").replace(epochs=5, eval_every=5)  # epoch 2 is not evaluated

    def stop_at_2(epoch, metrics):
        seen.append((epoch, "miou" in metrics))
        return epoch == 2

    ckpt = tmp_path / "c.pt"
    result = train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir,
                   callback=stop_at_2, checkpoint_path=ckpt)
    assert seen == [(1, False), (2, False)]
    assert result.stopped_early and result.epochs == 2 and len(result.history) == 2
    assert 0.0 <= result.miou <= 1.0  # evaluated at the stop although eval_every skipped it
    assert load_checkpoint(ckpt)["epoch"] == 2
    # a stop asked at the last epoch is not an early stop
    last = train(spec, "camvid4", preset.replace(epochs=2), synth_root, progress=False,
                 cache_dir=cache_dir, callback=lambda e, m: e == 2)
    assert not last.stopped_early and last.epochs == 2


def test_infinite_lr_diverges_with_clear_error(synth_root, cache_dir, spec):
    preset = get_preset("smoke").replace(epochs=3, lr=math.inf)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at epoch \d+/3, step"):
        train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir)


def test_nan_loss_stops_at_first_step(synth_root, cache_dir, spec, monkeypatch):
    import nas.train._trainer as trainer

    monkeypatch.setattr(trainer.F, "cross_entropy",
                        lambda *a, **k: torch.tensor(float("inf"), requires_grad=True))
    with pytest.raises(TrainingDivergedError, match="inf at epoch 1/1, step 1/1"):
        train(spec, "camvid4", "smoke", synth_root, progress=False, cache_dir=cache_dir)


def test_bad_spec_fails_before_training(synth_root, cache_dir):
    deep = tiny_spec(fold_ratio=4)  # depth 2, fold 4: crops must be multiples of 8
    with pytest.raises(ValueError, match="crop=36 is not divisible"):
        train(deep, "camvid4", get_preset("smoke").replace(crop=36), synth_root,
              progress=False, cache_dir=cache_dir)
    with pytest.raises(ValueError, match="num_classes=11"):
        train(tiny_spec(num_classes=11), "camvid4", "smoke", synth_root, progress=False,
              cache_dir=cache_dir)
    with pytest.raises(ValueError, match="larger than"):
        train(deep, "camvid4", get_preset("smoke").replace(crop=128), synth_root,
              progress=False, cache_dir=cache_dir)
    with pytest.raises(ValueError, match="device"):
        train(deep, "camvid4", "smoke", synth_root, device="tpu", progress=False)


def test_out_of_memory_is_a_clear_error(synth_root, cache_dir, spec, monkeypatch):
    import nas.train._trainer as trainer
    from nas.train import TrainingOutOfMemoryError

    def oom(*a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate")

    monkeypatch.setattr(trainer, "forward_logits", oom)
    with pytest.raises(TrainingOutOfMemoryError, match="batch_size=4, crop=32"):
        train(spec, "camvid4", "smoke", synth_root, progress=False, cache_dir=cache_dir)

    def other(*a, **k):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(trainer, "forward_logits", other)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        train(spec, "camvid4", "smoke", synth_root, progress=False, cache_dir=cache_dir)


class _Killed(Exception):
    """Stands for a kill -9 after an epoch (the callback raises it)."""


@pytest.mark.parametrize("kill_at", [2, 4])  # in the float phase, and after the QAT switch
def test_resume_after_a_kill_equals_an_uninterrupted_run(synth_root, cache_dir, spec, tmp_path,
                                                         kill_at):
    from nas.train import load_checkpoint

    preset = get_preset("smoke").replace(epochs=5, eval_every=1, qat_epochs=2,
                                         schedule="onecycle")
    whole = train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
                  cache_dir=cache_dir, checkpoint_path=tmp_path / "whole.pt", resume=True)

    def die(epoch, metrics):
        if epoch == kill_at:
            raise _Killed

    ckpt = tmp_path / "cut.pt"
    with pytest.raises(_Killed):
        train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
              cache_dir=cache_dir, checkpoint_path=ckpt, resume=True, callback=die)
    partial = tmp_path / "cut.pt.partial"
    assert partial.is_file() and not ckpt.exists()
    epochs_run = []
    resumed = train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
                    cache_dir=cache_dir, checkpoint_path=ckpt, resume=True,
                    callback=lambda e, m: epochs_run.append(e))
    assert epochs_run == list(range(kill_at + 1, 6))  # only the missing epochs ran
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history]
    assert resumed.miou == whole.miou and resumed.epochs == 5
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(ckpt)
    assert b["qat"] and all(torch.equal(a["state_dict"][k], v)
                            for k, v in b["state_dict"].items())
    assert not partial.exists() and not (tmp_path / "whole.pt.partial").exists()


def test_resume_refuses_another_trainings_state(synth_root, cache_dir, spec, tmp_path):
    preset = get_preset("smoke").replace(epochs=3, eval_every=1)
    ckpt = tmp_path / "c.pt"

    def die(epoch, metrics):
        raise _Killed

    with pytest.raises(_Killed):
        train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
              cache_dir=cache_dir, checkpoint_path=ckpt, resume=True, callback=die)
    with pytest.raises(ValueError, match="belongs to another training .*delete it"):
        train(spec, "camvid4", preset, synth_root, seed=2, progress=False,
              cache_dir=cache_dir, checkpoint_path=ckpt, resume=True)
    # a Preset field added since the state was saved is not a different training
    state = torch.load(tmp_path / "c.pt.partial", weights_only=True)
    key = json.loads(state["key"])
    del key["preset"]["low_bit_pricing"]
    torch.save({**state, "key": json.dumps(key)}, tmp_path / "c.pt.partial")
    resumed = train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
                    cache_dir=cache_dir, checkpoint_path=ckpt, resume=True)
    assert resumed.epochs == 3 and not (tmp_path / "c.pt.partial").exists()
    (tmp_path / "c.pt.partial").write_bytes(b"torn")
    with pytest.raises(ValueError, match="cannot resume from .*c.pt.partial"):
        train(spec, "camvid4", preset, synth_root, seed=1, progress=False,
              cache_dir=cache_dir, checkpoint_path=ckpt, resume=True)
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_path"):
        train(spec, "camvid4", preset, synth_root, progress=False, cache_dir=cache_dir,
              resume=True)


def test_low_bit_twins_share_the_float_phase(synth_root, cache_dir, tmp_path):
    from nas.spec import with_inner_bits

    preset = get_preset("smoke").replace(epochs=4, eval_every=1, qat_epochs=2)
    net8 = tiny_spec()
    net4 = with_inner_bits(net8, 4)
    shared = tmp_path / "float"

    def run(spec, folder, seed=1):
        epochs = []
        res = train(spec, "camvid4", preset, synth_root, seed=seed, progress=False,
                    cache_dir=cache_dir, float_phase_dir=folder,
                    callback=lambda e, m: epochs.append(e))
        return res, epochs

    scratch4, all_epochs = run(net4, None)
    assert all_epochs == [1, 2, 3, 4]
    first8, epochs8 = run(net8, shared)
    assert epochs8 == [1, 2, 3, 4] and len(list(shared.glob("float-*.pt"))) == 1
    twin4, epochs4 = run(net4, shared)
    assert epochs4 == [3, 4]  # the QAT epochs alone
    assert [h["loss"] for h in twin4.history] == [h["loss"] for h in scratch4.history]
    assert twin4.miou == scratch4.miou and twin4.epochs == 4
    assert [h["loss"] for h in twin4.history[:2]] == [h["loss"] for h in first8.history[:2]]
    # a setting that acts only in QAT does not change the float phase
    epochs = []
    train(net4, "camvid4", preset.replace(clip_quantile=0.9), synth_root, seed=1,
                progress=False, cache_dir=cache_dir, float_phase_dir=shared,
                callback=lambda e, m: epochs.append(e))
    assert epochs == [3, 4]
    # another seed is another float phase
    _, epochs_seed2 = run(net4, shared, seed=2)
    assert epochs_seed2 == [1, 2, 3, 4] and len(list(shared.glob("float-*.pt"))) == 2


def test_a_float_phase_state_resumes_under_other_qat_settings(synth_root, cache_dir, spec,
                                                              tmp_path):
    preset = get_preset("smoke").replace(epochs=4, eval_every=1, qat_epochs=2)
    ckpt = tmp_path / "c.pt"

    def die_at(n):
        def die(epoch, metrics):
            if epoch == n:
                raise _Killed
        return die

    with pytest.raises(_Killed):  # killed in the float phase
        train(spec, "camvid4", preset, synth_root, seed=1, progress=False, cache_dir=cache_dir,
              checkpoint_path=ckpt, resume=True, callback=die_at(1))
    epochs = []
    train(spec, "camvid4", preset.replace(clip_quantile=0.9), synth_root, seed=1,
          progress=False, cache_dir=cache_dir, checkpoint_path=ckpt, resume=True,
          callback=lambda e, m: (epochs.append(e), e == 3)[1])  # stops in the QAT phase
    assert epochs == [2, 3]
    # stopped by the callback: the run ended normally, so start one that dies in QAT
    with pytest.raises(_Killed):
        train(spec, "camvid4", preset, synth_root, seed=2, progress=False, cache_dir=cache_dir,
              checkpoint_path=ckpt, resume=True, callback=die_at(3))
    with pytest.raises(ValueError, match="belongs to another training"):
        train(spec, "camvid4", preset.replace(clip_quantile=0.9), synth_root, seed=2,
              progress=False, cache_dir=cache_dir, checkpoint_path=ckpt, resume=True)
