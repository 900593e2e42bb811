"""Builder: :class:`~nas.spec.ArchSpec` -> PyTorch U-Net, ai8x-style QAT, izer quantisation."""

from nas.models._blocks import FusedBlock, round_ste, weight_shift
from nas.models._unet import UNet, build_model
from nas.models.qat import clip_low_bit_biases, enable_qat, fold_bn, quantize_layer

__all__ = [
    "FusedBlock",
    "UNet",
    "clip_low_bit_biases",
    "build_model",
    "enable_qat",
    "fold_bn",
    "quantize_layer",
    "round_ste",
    "weight_shift",
]
