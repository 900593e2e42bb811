"""FusedBlock's folded forward (BN /4 as BN weight, ReLU + clamp as one out-of-place
hardtanh) against ai8x's literal chain of modules: same values, same gradients."""

import pytest
import torch
from torch import nn

from nas.models import FusedBlock
from nas.models._blocks import ACT_MAX, BN_EPS, BN_MOMENTUM
from nas.spec import Layer


def _layer(op="conv2d", relu=True, pool=0, kernel=3):
    return Layer(name="b", op=op, in_channels=6, out_channels=5, kernel=kernel, pool=pool,
                 relu=relu, bn=True, bias=True, groups=1, bits=8, inputs=(), scale=1)


def _literal(block: FusedBlock, x: torch.Tensor) -> torch.Tensor:
    """ai8x's order of modules: pool, conv, BatchNorm2d, /4, ReLU, clamp to int8 range."""
    bn = nn.BatchNorm2d(block.conv.out_channels, eps=BN_EPS, momentum=BN_MOMENTUM,
                        affine=False)
    if block.pool is not None:
        x = nn.functional.max_pool2d(x, 2, 2)
    x = bn(block.conv(x)).div(4.0)
    if block.relu:
        x = torch.relu(x)
    return x.clamp(0.0 if block.relu else -1.0, ACT_MAX), bn


@pytest.mark.parametrize("layer", [
    _layer(), _layer(relu=False), _layer(pool=2), _layer(kernel=1),
    _layer(op="convtranspose2d"),
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_block_equals_the_literal_ai8x_chain(layer, channels_last):
    torch.manual_seed(0)
    block = FusedBlock(layer).train()
    x = torch.randn(8, 6, 16, 16)
    x[0, :, 5, 5] = 40.0  # an outlier > 4 sigma after BN: hits both ends of the clamp
    if channels_last:
        block = block.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(block(x).shape)

    y1 = block(x1)
    (y1 * g).sum().backward()
    grads1 = [p.grad.clone() for p in block.conv.parameters()]
    block.zero_grad()
    y2, bn = _literal(block, x2)
    (y2 * g).sum().backward()
    grads2 = [p.grad.clone() for p in block.conv.parameters()]

    assert (y1 == (0.0 if layer.relu else -1.0)).any() and (y1 == ACT_MAX).any()
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads1[0], grads2[0], rtol=1e-4, atol=1e-4)
    # a bias before BN gets a zero gradient, up to float summation noise
    torch.testing.assert_close(grads1[1], grads2[1], rtol=0, atol=1e-3)
    # the literal chain's BN ran once, the block's twice (g's shape probe): compare one step
    block2 = FusedBlock(layer).train()
    block2.load_state_dict(block.state_dict())
    block2.bn.reset_running_stats()
    block2(x)
    torch.testing.assert_close(block2.bn.running_mean, bn.running_mean)
    torch.testing.assert_close(block2.bn.running_var, bn.running_var)
