"""Low-bit pricing: a preset too short for QAT trains low-bit nets in float and charges them
what the full recipe does (nas.train._pricing)."""

import pytest

from nas.models import enable_qat
from nas.spec import with_inner_bits
from nas.train import _pricing as pricing
from nas.train import get_preset, load_checkpoint, train
from tests.train.conftest import tiny_spec


def test_weight_share_counts_weights_per_width():
    spec = with_inner_bits(tiny_spec(), 4)
    by_hand: dict[int, int] = {}
    for layer in spec.layers():
        by_hand[layer.bits] = by_hand.get(layer.bits, 0) + layer.weight_count
    share = pricing.weight_share(spec)
    assert set(share) == {8, 4}  # the first conv and the classifier stay 8-bit
    assert share[4] == pytest.approx(by_hand[4] / sum(by_hand.values()))
    assert sum(share.values()) == pytest.approx(1.0)
    assert pricing.weight_share(tiny_spec()) == {8: 1.0}


def test_penalty_is_the_share_weighted_table():
    spec = with_inner_bits(tiny_spec(), 4)
    table = {8: 0.0, 4: 0.05}
    assert pricing.low_bit_penalty(spec, table) == pytest.approx(
        0.05 * pricing.weight_share(spec)[4])
    assert pricing.is_priced(spec, table) and not pricing.is_priced(spec, {8: 0.0})
    with pytest.raises(ValueError, match=r"no full-recipe penalty for \[4\]-bit"):
        pricing.low_bit_penalty(spec, {8: 0.0})


def _preset(pricing_on: bool):
    return get_preset("smoke").replace(epochs=3, eval_every=3, low_bit_qat_epochs=2,
                                       low_bit_pricing=pricing_on)


def test_a_priced_net_trains_as_its_8_bit_twin_and_is_charged(
        synth_root, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(pricing.FULL_RECIPE_PENALTY, 4, 0.05)
    eight, four = tiny_spec(), with_inner_bits(tiny_spec(), 4)
    kw = dict(seed=0, progress=False, cache_dir=cache_dir)
    twin = train(eight, "camvid4", _preset(True), synth_root, **kw)
    priced = train(four, "camvid4", _preset(True), synth_root,
                   checkpoint_path=tmp_path / "p.pt", **kw)
    assert [h["loss"] for h in priced.history] == [h["loss"] for h in twin.history]  # float
    assert not load_checkpoint(tmp_path / "p.pt")["qat"]
    assert priced.measured_miou == twin.miou
    assert priced.low_bit_penalty == pytest.approx(pricing.low_bit_penalty(four))
    assert priced.miou == pytest.approx(twin.miou - priced.low_bit_penalty)
    assert twin.low_bit_penalty is None and twin.measured_miou is None


def test_unpriced_widths_and_presets_keep_their_qat(synth_root, cache_dir, tmp_path,
                                                     monkeypatch):
    monkeypatch.setitem(pricing.FULL_RECIPE_PENALTY, 4, 0.05)
    two = with_inner_bits(tiny_spec(), 2)  # no 2-bit penalty in the table
    four = with_inner_bits(tiny_spec(), 4)
    kw = dict(seed=0, progress=False, cache_dir=cache_dir)
    for spec, preset, name in ((two, _preset(True), "two"), (four, _preset(False), "four")):
        res = train(spec, "camvid4", preset, synth_root, checkpoint_path=tmp_path / name, **kw)
        assert load_checkpoint(tmp_path / name)["qat"] and res.low_bit_penalty is None


def test_search_presets_price_low_bits():
    assert all(get_preset(p).low_bit_pricing for p in ("proxy", "proxy-fast", "medium"))
    assert not get_preset("full").low_bit_pricing  # the recipe the table is fitted on


def test_with_qat_for_every_net_a_priced_net_trains_as_its_8_bit_twin(
        synth_root, cache_dir, tmp_path, monkeypatch):
    """``medium`` trains 8-bit nets quantisation-aware too: a priced 4-bit net then runs its
    8-bit twin's QAT (not a 4-bit one) and its checkpoint loads as the 4-bit spec."""
    from nas.train import model_from_checkpoint

    monkeypatch.setitem(pricing.FULL_RECIPE_PENALTY, 4, 0.05)
    preset = _preset(True).replace(qat_epochs=1)
    eight, four = tiny_spec(), with_inner_bits(tiny_spec(), 4)
    kw = dict(seed=0, progress=False, cache_dir=cache_dir)
    twin = train(eight, "camvid4", preset, synth_root, **kw)
    priced = train(four, "camvid4", preset, synth_root, checkpoint_path=tmp_path / "p.pt", **kw)
    assert [h["qat"] for h in priced.history] == [False, False, True]
    assert [h["loss"] for h in priced.history] == [h["loss"] for h in twin.history]
    assert priced.measured_miou == twin.miou
    assert priced.miou == pytest.approx(twin.miou - pricing.low_bit_penalty(four))
    ckpt = load_checkpoint(tmp_path / "p.pt")
    assert ckpt["qat"] and ckpt["spec"] == four
    model_from_checkpoint(ckpt)  # the 4-bit spec's layers take the twin's state


def test_eight_bit_twin_sets_every_width_to_8():
    four = with_inner_bits(tiny_spec(), 4)
    assert {layer.bits for layer in four.layers()} == {8, 4}
    assert {layer.bits for layer in pricing.eight_bit_twin(four).layers()} == {8}
    assert pricing.eight_bit_twin(four) == tiny_spec()


def test_bias_clip_bits_keeps_low_bit_biases_within_the_weights_range(
        synth_root, cache_dir, tmp_path, monkeypatch):
    import torch

    import nas.train._trainer as trainer

    def enable_qat_big_biases(model):  # what BN folding leaves in some layers of real nets
        model = enable_qat(model)
        with torch.no_grad():
            for block in model.blocks.values():
                block.conv.bias.fill_(5 * float(block.conv.weight.abs().max()))
        return model

    monkeypatch.setattr(trainer, "enable_qat", enable_qat_big_biases)
    spec = with_inner_bits(tiny_spec(), 2)
    preset = get_preset("smoke").replace(epochs=2, eval_every=2, qat_epochs=1)
    for clip in (0, 2):
        ckpt = tmp_path / f"clip{clip}.pt"
        train(spec, "camvid4", preset.replace(bias_clip_bits=clip), synth_root, seed=0,
              progress=False, cache_dir=cache_dir, checkpoint_path=ckpt)
        sd = load_checkpoint(ckpt)["state_dict"]
        for layer in spec.layers():
            w, b = sd[f"blocks.{layer.name}.conv.weight"], sd[f"blocks.{layer.name}.conv.bias"]
            ratio = float(b.abs().max() / w.abs().max())
            if clip and layer.bits <= 2:
                assert ratio <= 1.0 + 1e-6, layer.name
            else:  # 8-bit layers, and every layer without the clip, keep their big biases
                assert ratio > 2.0, layer.name
