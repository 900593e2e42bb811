"""``export()``: one ArchSpec (+ weights) -> a folder izer and ai8x-training accept as is."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from nas.data import eval_tiles, fold, load_split, to_int8
from nas.export import _hw
from nas.export._ai8x_module import (
    QAT_START_EPOCH,
    ai8x_dataset,
    arch_name,
    generate_ai8x_module,
    module_filename,
    render_qat_policy,
)
from nas.export._checkpoint import (
    LayerParams,
    checkpoint_dict,
    float_state_dict,
    quantized_state_dict,
    random_layer_params,
)
from nas.export._izer import QAT_POLICY_FILE, izer_args
from nas.export._preview import PREVIEW_FILE, Preview, preview_grid
from nas.export._readme import render_readme
from nas.export._simulate import simulate_int8
from nas.export._yaml import render_yaml
from nas.hardware import DEFAULT_DEVICE, list_devices
from nas.models import FusedBlock, fold_bn
from nas.spec import DEFAULT_INPUT_SIZE, ArchSpec


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote.

    Attributes:
        out_dir: the export folder.
        arch: the ai8x model name (checkpoint ``arch`` = YAML ``arch``).
        files: role -> path (``module``, ``float``, ``quantized``, ``qat_policy``, ``yaml``,
            ``sample``, ``expected``, ``spec``, ``readme``, ``manifest``, and ``preview``
            when tiles were given).
        predicted: our hardware model's figures izer should print (``weight_bytes``,
            ``bias_bytes``, ``latency_cycles``) per device.
        trained: False for random weights (``untrained``).
    """

    out_dir: Path
    arch: str
    files: dict[str, Path]
    predicted: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained: bool = False


def model_layer_params(model: nn.Module) -> dict[str, LayerParams]:
    """Folded float parameters of a ``nas.models`` model, in layer order (the model is
    not modified)."""
    model = fold_bn(copy.deepcopy(model).cpu().float())
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleDict):
        raise ValueError("model must be built by nas.models.build_model (no .blocks)")
    out = {}
    for name, module in blocks.items():
        block = cast(FusedBlock, module)
        conv = block.conv
        bias = None if conv.bias is None else conv.bias.detach()
        out[name] = LayerParams(conv.weight.detach(), bias, int(block.layer.bits))
    return out


def random_sample(spec: ArchSpec, input_size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A synthetic int64 CHW sample in [-128, 127] (hardware-only exports)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(-128, 128, (spec.input_channels, *input_size), generator=gen)
    return x.to(torch.int64).numpy()


def camvid_sample(
    spec: ArchSpec,
    task: str,
    input_size: tuple[int, int],
    data_dir: str | Path | None = None,
    split: str = "val",
    scale: float = 1.0,
    index: int = 0,
) -> np.ndarray:
    """One real validation crop, folded and scaled as the chip sees it (int64 CHW)."""
    if input_size[0] != input_size[1]:
        raise ValueError(f"a CamVid sample needs a square input, but got {input_size}")
    crop = input_size[0] * spec.fold_ratio
    data = load_split(data_dir, split, task, scale=scale, progress=False)
    images, _ = eval_tiles(data, crop)
    if not 0 <= index < len(images):
        raise ValueError(f"sample index must be in [0, {len(images)}), but got {index}")
    x = fold(images[index : index + 1], spec.fold_ratio)
    return to_int8(x)[0].to(torch.int64).numpy()


def _prepare_dir(out_dir: Path, force: bool) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ValueError(f"--out {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()) and not force:
            raise ValueError(f"output folder {out_dir} already exists and is not empty; "
                             "choose another --out or pass --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)


def export(
    spec: ArchSpec,
    out_dir: str | Path,
    *,
    model: nn.Module | None = None,
    params: dict[str, LayerParams] | None = None,
    sample: np.ndarray | None = None,
    dataset: str = "camvid4",
    device: str = DEFAULT_DEVICE,
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
    epoch: int = 0,
    extras: dict[str, Any] | None = None,
    seed: int = 0,
    force: bool = False,
    source: str = "",
    preview: Preview | None = None,
) -> ExportResult:
    """Write the ai8x-training module, float and quantised checkpoints, izer YAML, sample
    input, our int8 simulation of it, and a README with the izer commands; with ``preview``,
    also ``preview.png``: its tiles as input, ground truth and the chip's prediction.

    Args:
        spec: the architecture; it must pass ``nas.hardware.check`` on ``device``.
        out_dir: the export folder (refused if it exists and is not empty, unless ``force``).
        model: trained ``nas.models`` model; None exports random weights (hardware checks).
        params: folded float weights per layer instead of ``model`` (e.g. from
            :func:`nas.export.layer_params_from_ai8x`).
        sample: int CHW input in [-128, 127] of ``input_size``; None = synthetic random.
        dataset: izer's ``dataset`` name; the sample file is ``sample_<dataset>.npy``.
        device: the chip the memory plan is made for.
        input_size: folded input (H, W) the plan and latency are computed for.
        epoch, extras: epochs trained and extra fields for the checkpoints. The checkpoints'
            ``epoch`` is at least ai8x's CamVid QAT start (40): they are BN-folded with QAT
            on, which train.py infers from ``epoch >= start_epoch``; ``extras['maxnas_epoch']``
            keeps ``epoch``.
        seed: for random weights and the synthetic sample.
        force: overwrite an existing export folder.
        source: one line saying where the weights came from (README).
        preview: tiles to draw (:func:`nas.export.load_preview`), predicted by the int8
            simulation of the quantised weights.

    Raises:
        ValueError: infeasible spec (listing the violations), bad sample, existing folder.
    """
    out_dir = Path(out_dir)
    report = _hw.check_feasible(spec, device, input_size)
    sample = _checked_sample(spec, sample, input_size, seed)
    _prepare_dir(out_dir, force)

    if model is not None and params is not None:
        raise ValueError("give model or params, not both")
    trained = model is not None or params is not None
    arch = arch_name(spec)
    if params is None:
        params = model_layer_params(model) if model is not None else random_layer_params(
            spec, seed)
    fsd = float_state_dict(params)
    qsd = quantized_state_dict(fsd, _hw.copy_layers(report))
    extras = {**(extras or {}), "maxnas_spec": spec.to_json(indent=None),
              "maxnas_trained": trained, "maxnas_epoch": int(epoch)}
    ckpt_epoch = max(int(epoch), QAT_START_EPOCH)
    files = _export_files(spec, out_dir, arch, dataset)
    _write_training_files(spec, files, arch, fsd, qsd, ckpt_epoch, extras)
    _write_izer_files(spec, files, arch, dataset, report, device, input_size, qsd, sample)
    if preview is not None:
        files["preview"] = out_dir / PREVIEW_FILE
        preview_grid(spec, qsd, preview, device).image.save(files["preview"])

    predicted = _predicted(spec, report, qsd, device, input_size)
    commands = _izer_commands(arch, files)
    files["readme"].write_text(render_readme(
        spec, arch, files, commands, predicted, device, input_size,
        trained=trained, source=source, epoch=epoch, ckpt_epoch=ckpt_epoch,
        ai8x_dataset=ai8x_dataset(dataset, spec.fold_ratio), task=dataset,
    ))
    files["manifest"].write_text(json.dumps({
        "arch": arch, "device": device, "input_size": list(input_size),
        "trained": trained, "epoch": int(epoch), "checkpoint_epoch": ckpt_epoch,
        "ai8x_dataset": ai8x_dataset(dataset, spec.fold_ratio), "predicted": predicted,
        "files": {k: v.name for k, v in files.items()},
    }, indent=2) + "\n")
    return ExportResult(out_dir, arch, files, predicted, trained)


def _checked_sample(spec: ArchSpec, sample: np.ndarray | None, input_size: tuple[int, int],
                    seed: int) -> np.ndarray:
    """``sample`` as int64 CHW of ``input_size`` (a synthetic one when None)."""
    if sample is None:
        sample = random_sample(spec, input_size, seed)
    sample = np.asarray(sample)
    if sample.shape != (spec.input_channels, *input_size):
        raise ValueError(f"sample must have shape {(spec.input_channels, *input_size)} "
                         f"(C, H, W), but got {sample.shape}")
    return sample.astype(np.int64)


def _export_files(spec: ArchSpec, out_dir: Path, arch: str, dataset: str) -> dict[str, Path]:
    """Role -> path of every file an export writes (see :class:`ExportResult`)."""
    return {
        "module": out_dir / module_filename(spec),
        "float": out_dir / f"{arch}.pth.tar",
        "quantized": out_dir / f"{arch}-q.pth.tar",
        "qat_policy": out_dir / QAT_POLICY_FILE,
        "yaml": out_dir / f"{arch}.yaml",
        "sample": out_dir / f"sample_{dataset.lower()}.npy",
        "expected": out_dir / "expected_output.npy",
        "spec": out_dir / "spec.json",
        "readme": out_dir / "README.md",
        "manifest": out_dir / "export.json",
    }


def _write_training_files(spec: ArchSpec, files: dict[str, Path], arch: str,
                          fsd: dict[str, torch.Tensor], qsd: dict[str, torch.Tensor],
                          ckpt_epoch: int, extras: dict[str, Any]) -> None:
    """ai8x-training's side: the model module, QAT policy, float and quantised checkpoints."""
    files["module"].write_text(generate_ai8x_module(spec))
    files["qat_policy"].write_text(render_qat_policy(spec))
    torch.save(checkpoint_dict(fsd, arch, ckpt_epoch, extras), files["float"])
    torch.save(checkpoint_dict(qsd, arch, ckpt_epoch,
                               {**extras, "clipping_method": "MAX_BIT_SHIFT"}),
               files["quantized"])


def _write_izer_files(spec: ArchSpec, files: dict[str, Path], arch: str, dataset: str,
                      report: Any, device: str, input_size: tuple[int, int],
                      qsd: dict[str, torch.Tensor], sample: np.ndarray) -> None:
    """izer's side: the network YAML, the sample, our int8 output for it, and the spec."""
    yaml_layers, names = _hw.yaml_layers(report)
    header = (f"{spec.name}: izer network description generated by maxnas for {device}, "
              f"input {spec.input_channels}x{input_size[0]}x{input_size[1]}.\n"
              "Offsets come from the memory plan: no tensor is overwritten before its last "
              "reader.")
    files["yaml"].write_text(render_yaml(arch, dataset, yaml_layers, names, header))
    np.save(files["sample"], sample)
    outputs = simulate_int8(spec, qsd, sample)
    np.save(files["expected"], outputs[spec.layers()[-1].name])
    files["spec"].write_text(spec.to_json() + "\n")


def _predicted(spec: ArchSpec, report: Any, qsd: dict[str, torch.Tensor], device: str,
               input_size: tuple[int, int]) -> dict[str, dict[str, Any]]:
    """The figures izer should print, for ``device`` and for the other chip."""
    # izer stores no biases for a layer whose quantised biases are all zero
    zero_bias = {k[: -len(".op.bias")] for k, v in qsd.items()
                 if k.endswith(".op.bias") and not bool(v.any())}
    predicted = {device: _hw.predicted(report, zero_bias, device)}
    other = next(d for d in list_devices() if d != device)
    try:
        predicted[other] = _hw.predicted(_hw.check_feasible(spec, other, input_size),
                                         zero_bias, other)
    except ValueError as e:  # the other chip may not run it: say so in the README
        predicted[other] = {"error": str(e)}
    return predicted


def _izer_commands(arch: str, files: dict[str, Path]) -> dict[str, list[str]]:
    """izer's command line per chip, on the files of the export folder ``$EXPORT``."""
    return {
        dev: izer_args(arch, f"$EXPORT/{files['quantized'].name}",
                       f"$EXPORT/{files['yaml'].name}", f"$EXPORT/{files['sample'].name}",
                       dev, test_dir=f"sdk/Examples/{dev}/CNN")
        for dev in list_devices()
    }
