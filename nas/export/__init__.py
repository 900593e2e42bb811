"""Export to ai8x: the ai8x-training model module, float and quantised checkpoints, the izer
YAML from the hardware memory plan, a sample input and our int8 simulation of it, and a
picture of a few val tiles as the chip segments them (``preview.png``).

``export(spec, out_dir, model=...)`` writes the folder; ``run_izer`` runs ai8x-synthesis on it
(a separate toolchain) and ``parse_izer_log`` / ``compare_sample_output`` read its results.
"""

from nas.export._ai8x_module import arch_name, generate_ai8x_module, module_filename
from nas.export._checkpoint import (
    CopyLayer,
    LayerParams,
    checkpoint_dict,
    float_state_dict,
    layer_params_from_ai8x,
    quantize_layer,
    quantized_state_dict,
    random_layer_params,
)
from nas.export._export import (
    DEFAULT_INPUT_SIZE,
    ExportResult,
    camvid_sample,
    export,
    model_layer_params,
    random_sample,
)
from nas.export._izer import (
    IzerLog,
    IzerRun,
    OutputComparison,
    compare_sample_output,
    izer_args,
    output_words,
    parse_izer_log,
    read_sample_output,
    run_izer,
)
from nas.export._liveness import check_yaml_liveness
from nas.export._preview import PREVIEW_FILE, Preview, chip_predictions, load_preview, preview_grid
from nas.export._simulate import simulate_int8, simulate_layer
from nas.export._yaml import read_yaml_layers, render_yaml

__all__ = [
    "CopyLayer",
    "DEFAULT_INPUT_SIZE",
    "ExportResult",
    "IzerLog",
    "IzerRun",
    "LayerParams",
    "OutputComparison",
    "PREVIEW_FILE",
    "Preview",
    "arch_name",
    "camvid_sample",
    "check_yaml_liveness",
    "checkpoint_dict",
    "chip_predictions",
    "compare_sample_output",
    "export",
    "float_state_dict",
    "generate_ai8x_module",
    "izer_args",
    "layer_params_from_ai8x",
    "load_preview",
    "model_layer_params",
    "module_filename",
    "output_words",
    "parse_izer_log",
    "preview_grid",
    "quantize_layer",
    "quantized_state_dict",
    "random_layer_params",
    "random_sample",
    "read_sample_output",
    "read_yaml_layers",
    "render_yaml",
    "run_izer",
    "simulate_int8",
    "simulate_layer",
]
