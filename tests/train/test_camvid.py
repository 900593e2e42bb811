"""Real CamVid (``$CAMVID_DIR``): the proxy learns every camvid4 class. Minutes of CPU."""

import os
from pathlib import Path

import pytest

from nas.spec import get_reference
from nas.train import train
from tests.conftest import require

CAMVID = os.environ.get("CAMVID_DIR")


@pytest.mark.slow
def test_proxy_learns_camvid4(tmp_path):
    require(bool(CAMVID) and Path(str(CAMVID)).is_dir(), f"$CAMVID_DIR ({CAMVID}) is not a folder",
            markers=("slow",))
    result = train(get_reference("unetmysmall", 4), "camvid4", "proxy", CAMVID, seed=0,
                   progress=False, threads=1, checkpoint_path=tmp_path / "m.pth.tar")
    assert result.miou > 0.6, result.per_class_iou
    assert min(result.per_class_iou.values()) > 0.3  # Tree included
