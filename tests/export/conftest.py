from __future__ import annotations

import pytest
import torch

from nas.models import build_model
from nas.spec import ArchSpec, get_reference


@pytest.fixture
def bn_model() -> tuple[ArchSpec, torch.nn.Module]:
    """unetmysmall in eval mode with non-trivial BN statistics (so folding BN changes weights)."""
    torch.manual_seed(0)
    spec = get_reference("unetmysmall")
    model = build_model(spec)
    for block in model.blocks.values():
        if block.bn is not None:
            block.bn.running_mean.uniform_(-0.1, 0.1)
            block.bn.running_var.uniform_(0.01, 0.05)
    return spec, model.eval()
