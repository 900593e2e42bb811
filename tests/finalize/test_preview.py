"""finalists_preview.png: the same test tiles segmented by each finalist, linked from
finalists.md; skipped in one line without CamVid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from nas.data import get_task
from nas.finalize import FinalizeConfig, finalize
from nas.finalize._preview import finalists_grid, preview_crop
from nas.report import class_colors
from nas.report._segmentation import GAP_PX, MARGIN_PX
from nas.search import DEFAULT_REFERENCES
from nas.spec import get_reference
from nas.train import get_preset
from tests.finalize import fakes


class ConstantNet(nn.Module):
    """Folded logits that always score class ``k`` highest (``r*r*classes`` channels)."""

    def __init__(self, k: int, classes: int = 4, r: int = 4):
        super().__init__()
        self.k, self.classes, self.r = k, classes, r

    def forward(self, x):
        b, _, h, w = x.shape
        y = torch.zeros(b, self.r * self.r * self.classes, h, w)
        y[:, self.k::self.classes] = 1.0
        return y


def test_each_model_column_is_that_models_prediction():
    task = get_task("camvid4")
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 4, (3, 32, 32), dtype=torch.uint8)
    grid = finalists_grid([("always Sky", ConstantNet(1), 4), ("always Tree", ConstantNet(2), 4)],
                          images, labels, task)
    assert grid.shape == (3, 4)  # input, ground truth, two models
    pixels = np.asarray(grid.image)
    colors = class_colors(task.class_names)
    for row in range(3):
        for col, k in ((2, 1), (3, 2)):
            x0, y0, x1, y1 = grid.panels[row][col]
            assert (pixels[y0:y1, x0:x1].reshape(-1, 3) == colors[k]).all()


def test_the_tile_fits_every_net():
    nets = [get_reference("ai85unetlarge"), get_reference("unetmysmall")]
    assert preview_crop(nets, get_preset("full"), (88, 88)) == 352
    assert preview_crop(nets, get_preset("smoke"), (88, 88)) == 32  # fold 4 x 2**3
    with pytest.raises(ValueError, match="smaller than 32"):
        preview_crop(nets, get_preset("smoke").replace(eval_crop=24), (88, 88))


def _cfg(study_cfg, data_dir, **kw) -> FinalizeConfig:
    base = dict(study_name=study_cfg.study_name, k=2, seeds=2, preset="smoke",
                studies_dir=study_cfg.studies_dir, data_dir=data_dir,
                trainer=fakes.MODEL_TRAINER, tester=fakes.TESTER)
    return FinalizeConfig(**{**base, **kw})


def test_finalize_draws_every_model_and_links_the_picture(fake_study, tmp_path):
    from nas.data.synthetic import make_synthetic_camvid

    data = make_synthetic_camvid(tmp_path / "camvid", n_per_split=2, size=(64, 96))
    lines: list[str] = []
    result = finalize(_cfg(fake_study, data), log=lines.append)
    path = result.paths["preview"]
    assert path == fake_study.study_dir / "finalists_preview.png"
    n_cols = 2 + 2 + len(DEFAULT_REFERENCES)  # input, ground truth, 2 knees, the references
    with Image.open(path) as im:
        width, height = im.size
    assert width == 2 * MARGIN_PX + n_cols * 160 + (n_cols - 1) * GAP_PX >= 600
    assert height > 4 * 160  # four test tiles
    md = (fake_study.study_dir / "finalists.md").read_text()
    assert "](finalists_preview.png)" in md
    assert not [ln for ln in lines if "skipped" in ln]


def test_without_camvid_the_picture_is_skipped_in_one_line(fake_study, tmp_path):
    lines: list[str] = []
    result = finalize(_cfg(fake_study, tmp_path / "data", seeds=1), log=lines.append)
    assert [ln for ln in lines if "finalists_preview.png skipped" in ln] == [lines[-1]]
    assert "preview" not in result.paths
    assert "finalists_preview" not in (fake_study.study_dir / "finalists.md").read_text()
