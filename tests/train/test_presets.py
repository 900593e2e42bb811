import math

import pytest

from nas.train import PRESETS, Preset, get_preset, list_presets, lr_at


def test_registry_has_the_three_budgets():
    assert {"smoke", "proxy", "full"} <= set(list_presets())
    assert get_preset("proxy") is PRESETS["proxy"]
    p = get_preset("full")
    assert get_preset(p) is p
    # the deployment resolution: 352 crops of full frames -> 88x88 at fold 4
    assert p.crop == 352 and p.scale == 1.0 and p.qat_epochs > 0


@pytest.mark.parametrize("name", ["proxy", "proxy-fast", "full"])
def test_search_presets_score_low_bit_nets_quantised(name):
    # a low-bit net trained in float would be scored as if it ran at 8 bits
    p = get_preset(name)
    assert p.qat_epochs_for(True) >= 1
    assert p.qat_epochs_for(False) == p.qat_epochs  # 8-bit nets: unchanged


def test_unknown_preset_lists_names():
    with pytest.raises(ValueError, match=r"unknown preset 'prox'.*'proxy'"):
        get_preset("prox")


@pytest.mark.parametrize("field,value", [
    ("epochs", 0), ("lr", 0.0), ("schedule", "step"), ("scale", 1.5), ("amp", "fp16"),
    ("qat_epochs", 99), ("max_train_frames", 0), ("crop", -32), ("low_bit_qat_epochs", 11),
    ("qat_lr_scale", 0.0), ("bias_clip_bits", 3),
])
def test_bad_preset_values(field, value):
    with pytest.raises(ValueError, match=field):
        get_preset("smoke").replace(**{field: value})


def test_crops_fold_for_depth4_fold4():
    for p in PRESETS.values():
        if p.name != "smoke":
            assert p.crop % 32 == 0 and p.eval_crop % 32 == 0, p.name


def test_onecycle_schedule_shape():
    p = Preset(name="t", scale=1.0, crop=32, epochs=1, batch_size=1, lr=1.0, warmup_frac=0.1)
    lrs = [lr_at(s, 100, p) for s in range(100)]
    assert lrs[0] == pytest.approx(1 / 25)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 10
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] < 0.01
    c = p.replace(schedule="cosine")
    assert lr_at(0, 100, c) == 1.0 and lr_at(50, 100, c) == pytest.approx(0.5)
    assert math.isclose(lr_at(7, 100, p.replace(schedule="constant")), 1.0)


@pytest.mark.parametrize(("avx512_bf16", "amx", "expected"), [
    (False, False, "none"), (True, False, "bf16"), (False, True, "bf16"),
])
def test_auto_amp_is_bf16_only_with_native_cpu_bf16(monkeypatch, avx512_bf16, amx, expected):
    import torch

    from nas.train import resolve_amp

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert resolve_amp("auto", "cpu") == expected
    # an explicit choice is kept whatever the CPU
    assert resolve_amp("bf16", "cpu") == "bf16"
    assert resolve_amp("none", "cpu") == "none"


@pytest.mark.parametrize("supported", [False, True])
def test_auto_amp_on_cuda_follows_the_gpu(monkeypatch, supported):
    import torch

    from nas.train import resolve_amp

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    assert resolve_amp("auto", "cuda") == ("bf16" if supported else "none")


def test_resolve_amp_rejects_unknown_modes():
    from nas.train import resolve_amp

    with pytest.raises(ValueError, match="amp must be one of"):
        resolve_amp("fp16", "cpu")


def test_search_presets_pick_amp_per_machine():
    for name in ("proxy", "proxy-fast", "full"):
        assert get_preset(name).amp == "auto"


def test_proxy_long_is_the_proxy_for_twice_the_epochs():
    # its measured ranking (BENCHMARKS.md) is that of exactly this change; a `proxy` edit that
    # does not carry over would leave the candidate rung measuring something else
    p, q = get_preset("proxy"), get_preset("proxy-long")
    assert q.epochs == 2 * p.epochs and q.eval_every == q.epochs
    assert q.replace(name=p.name, epochs=p.epochs, eval_every=p.eval_every) == p
