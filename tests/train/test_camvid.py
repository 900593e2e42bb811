"""Real CamVid (``$CAMVID_DIR``): the proxy learns every camvid4 class. Minutes of CPU."""

import os
from pathlib import Path

import pytest

from nas.spec import get_reference
from nas.train import train

CAMVID = os.environ.get("CAMVID_DIR")


@pytest.mark.slow
@pytest.mark.skipif(not CAMVID or not Path(CAMVID).is_dir(), reason="needs $CAMVID_DIR")
def test_proxy_learns_camvid4(tmp_path):
    result = train(get_reference("unetmysmall", 4), "camvid4", "proxy", CAMVID, seed=0,
                   progress=False, threads=1, checkpoint_path=tmp_path / "m.pth.tar")
    assert result.miou > 0.6, result.per_class_iou
    assert min(result.per_class_iou.values()) > 0.3  # Tree included
