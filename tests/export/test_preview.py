"""preview.png: val tiles as input, ground truth and the chip's (int8 simulated) prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nas.__main__ import main
from nas.data import get_task
from nas.export import (
    LayerParams,
    Preview,
    chip_predictions,
    float_state_dict,
    preview_grid,
    quantized_state_dict,
    random_layer_params,
)
from nas.report import class_colors
from nas.spec import get_reference

SIZE = ["--input-size", "16"]


def _constant_params(spec, k: int) -> dict[str, LayerParams]:
    """Random layers, but the classifier's weights are 0 and its biases favour class ``k``
    in every folded pixel (channel ``(i*r + j)*classes + c`` scores class ``c``)."""
    params = random_layer_params(spec, 0)
    last = spec.layers()[-1].name
    p = params[last]
    cls = torch.arange(p.weight.shape[0]) % spec.num_classes
    params[last] = LayerParams(torch.zeros_like(p.weight), torch.where(cls == k, 0.5, -0.5),
                               p.bits)
    return params


def test_the_prediction_panel_is_what_the_chip_computes():
    spec = get_reference("unetmysmall")
    task = get_task("camvid4")
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    labels = torch.randint(0, 4, (2, 64, 64), dtype=torch.uint8)
    qsd = quantized_state_dict(float_state_dict(_constant_params(spec, 2)))
    assert (chip_predictions(spec, qsd, images) == 2).all()
    grid = preview_grid(spec, qsd, Preview(images, labels, task), "MAX78000")
    assert grid.shape == (2, 3) and grid.image.size[0] >= 600
    pixels = np.asarray(grid.image)
    for row in range(2):
        x0, y0, x1, y1 = grid.panels[row][2]
        assert (pixels[y0:y1, x0:x1].reshape(-1, 3) == class_colors(task.class_names)[2]).all()
    # other weights, other prediction: the panel follows the network
    qsd = quantized_state_dict(float_state_dict(_constant_params(spec, 0)))
    assert (chip_predictions(spec, qsd, images) == 0).all()


def _checkpoint(tmp_path, spec):
    from nas.models import build_model
    from nas.train import save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "c.pth.tar", spec=spec, model=build_model(spec).eval(),
                           task="camvid4", preset="smoke", metrics={"miou": 0.5}, epoch=3)


def test_export_with_camvid_writes_and_links_the_preview(tmp_path, capsys):
    from nas.data.synthetic import make_synthetic_camvid

    spec = get_reference("unetmysmall")
    ckpt = _checkpoint(tmp_path, spec)
    data = make_synthetic_camvid(tmp_path / "camvid", n_per_split=2, size=(64, 96))
    out = tmp_path / "e"
    assert main(["export", "--checkpoint", str(ckpt), "--data-dir", str(data),
                 "--out", str(out), *SIZE]) == 0
    assert "skipped" not in capsys.readouterr().out
    with Image.open(out / "preview.png") as im:
        width, height = im.size
    # 3 columns of >= 190 px panels; 4 rows (2 frames x 2 tiles of 64 px)
    assert width >= 600 and height > 4 * 190
    readme = (out / "README.md").read_text()
    assert "](preview.png)" in readme and "| `preview.png` |" in readme
    assert json.loads((out / "export.json").read_text())["files"]["preview"] == "preview.png"


@pytest.mark.parametrize(("argv", "why"), [
    (["--synthetic-sample"], "CamVid not found"),  # trained, but no CamVid here
    (["--untrained"], "random weights"),
])
def test_export_without_camvid_skips_the_preview_in_one_line(tmp_path, capsys, argv, why):
    spec = get_reference("unetmysmall")
    source = ["--checkpoint", str(_checkpoint(tmp_path, spec))] if "--untrained" not in argv \
        else ["--reference", "unetmysmall"]
    out = tmp_path / "e"
    assert main(["export", *source, *argv, "--out", str(out), *SIZE]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "preview" in ln]
    assert len(lines) == 1 and "preview.png skipped: " + why in lines[0]
    assert not (out / "preview.png").exists()
    assert "preview.png" not in (out / "README.md").read_text()
