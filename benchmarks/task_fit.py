"""Which task runs on which device at which input size: the table in the README's options.

For every device, its search space and every task, the largest square folded input size at
which the smallest net of the space passes the per-layer limits (the classifier's unfolded
output and the input layer must fit one data-memory instance). Larger nets may need a smaller
size; a search at a size above this one stops before its first trial.

    python -m benchmarks.task_fit
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from nas.data import get_task, list_tasks
from nas.hardware import list_devices
from nas.search._components import forced_violations, largest_square_input
from nas.spec import DEFAULT_INPUT_SIZE
from search_spaces import get_space

SPACE_FOR = {"MAX78000": "unet_max78000", "MAX78002": "unet_max78002"}


def task_fit_frame() -> pd.DataFrame:
    rows = []
    for device in list_devices():
        space = get_space(SPACE_FOR[device])
        for name in list_tasks():
            n = get_task(name).num_classes
            sp = dataclasses.replace(space, num_classes=n)
            side = largest_square_input(sp, n, device)
            rows.append({
                "device": device, "space": space.name, "task": name, "classes": n,
                "fits at 88x88": not forced_violations(sp, n, device, DEFAULT_INPUT_SIZE),
                "largest square input": f"{side}x{side}" if side else "none",
            })
    return pd.DataFrame(rows)


if __name__ == "__main__":
    print(task_fit_frame().to_string(index=False))
