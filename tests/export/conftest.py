from __future__ import annotations

import pytest
import torch

from nas.models import build_model
from nas.spec import ArchSpec, get_reference


@pytest.fixture(autouse=True)
def _no_camvid(monkeypatch, tmp_path):
    """No CamVid unless a test passes --data-dir: neither $CAMVID_DIR nor data/CamVid is
    looked at (a preview would otherwise read the real val split)."""
    import nas.data._dataset as dataset

    monkeypatch.delenv("CAMVID_DIR", raising=False)
    monkeypatch.setattr(dataset, "DEFAULT_DATA_DIR", tmp_path / "no-camvid")


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
