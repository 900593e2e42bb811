"""Fake trainer and test scorer for finalize: fast, deterministic, seed-dependent."""

from __future__ import annotations

import os
import time

import torch

from tests.search import fakes

CALLS: list[tuple[str, int]] = []  # (spec name, seed) the fake trainer trained, in-process


def fake_train(spec, task, preset, data_dir=None, *, seed=0, checkpoint_path=None, **kw):
    """``tests.search.fakes.fake_train`` with a seed-dependent mIoU; optionally crashes.

    ``MAXNAS_FAKE_CRASH_AT=N``: the N-th call (1-based, this process) raises;
    ``MAXNAS_FAKE_SIGTERM_AT=N``: the N-th call sends this process SIGTERM;
    ``MAXNAS_FAKE_TRAIN_SLEEP=S``: each call takes S seconds (a signal can come mid-training).
    """
    CALLS.append((spec.name, seed))
    time.sleep(float(os.environ.get("MAXNAS_FAKE_TRAIN_SLEEP", "0")))
    crash_at = int(os.environ.get("MAXNAS_FAKE_CRASH_AT", "0"))
    if crash_at and len(CALLS) == crash_at:
        raise RuntimeError("fake crash")
    term_at = int(os.environ.get("MAXNAS_FAKE_SIGTERM_AT", "0"))
    if term_at and len(CALLS) == term_at:
        import signal

        os.kill(os.getpid(), signal.SIGTERM)  # as `timeout` or a batch scheduler would
    res = fakes.fake_train(spec, task, preset, data_dir, seed=seed,
                           checkpoint_path=checkpoint_path)
    res.miou += 0.01 * seed
    if checkpoint_path is not None:
        torch.save({"spec": spec.to_dict(), "state_dict": {},
                    "metrics": {"miou": res.miou}, "seed": seed}, checkpoint_path)
    return res


def fake_train_model(spec, task, preset, data_dir=None, *, seed=0, checkpoint_path=None, **kw):
    """:func:`fake_train`, but the checkpoint is a real one of an untrained model (for
    ``finalists_preview.png``)."""
    from nas.models import build_model
    from nas.train import save_checkpoint

    res = fake_train(spec, task, preset, data_dir, seed=seed, checkpoint_path=None)
    if checkpoint_path is not None:
        torch.manual_seed(seed)
        save_checkpoint(checkpoint_path, spec=spec, model=build_model(spec).eval(),
                        task=task.name, preset=preset.name, metrics={"miou": res.miou},
                        epoch=1)
    return res


TEST_DEVICES: list[str] = []  # the PyTorch device each fake test scoring got, in-process


def fake_score_test(checkpoint, spec, task, preset, data_dir, device="cpu"):
    """Test mIoU = the checkpoint's val mIoU - 0.02."""
    TEST_DEVICES.append(device)
    miou = torch.load(checkpoint, weights_only=False)["metrics"]["miou"] - 0.02
    return {"miou": miou, "pixel_accuracy": 0.5,
            "per_class_iou": {n: miou for n in task.class_names}}


TRAINER = "tests.finalize.fakes:fake_train"
MODEL_TRAINER = "tests.finalize.fakes:fake_train_model"
TESTER = "tests.finalize.fakes:fake_score_test"
