"""with_bits_cycle: a deterministic mixed-bit variant of a spec."""

from nas.spec import get_reference, with_bits_cycle


def test_bits_cycle_over_convs_and_up_layers():
    spec = with_bits_cycle(get_reference("unetmysmall"))
    assert spec.name == "unetmysmall_mixed"
    order = [c.bits for c in spec.prep] + [c.bits for c in spec.head] + [
        c.bits for lvl in spec.encoder + spec.decoder for c in lvl.convs]
    assert order == [(4, 2, 1, 8)[i % 4] for i in range(len(order))]
    assert {lvl.up_bits for lvl in spec.decoder} == {4}
    spec.validate()
