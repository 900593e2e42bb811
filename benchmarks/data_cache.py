"""CamVid integer cache: first build (decode + write) against loading from the cache.

For each scale it builds the cache for one split and task into a fresh temporary folder
(every JPEG/PNG decoded, scaled, written as ``.npy``), then loads the same split from the
cache ``--repeats`` times (a new process would do the same: ``np.load`` of one file per
array). "warm" loads find the files in the OS page cache, as the second and later trials of
a search on one machine do; "cold" loads first ask the OS to drop the cache files' pages
(``posix_fadvise(DONTNEED)``, where available), so they read from disk. Target: the 367
training frames load in < 2 s.

    nice -n 5 .venv/bin/python -m benchmarks.data_cache --data-dir ../shared/datasets/camvid
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from nas.data import load_split


def _drop_page_cache(folder: Path) -> None:
    """Ask the OS to forget the cached pages of our own cache files (no root needed)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in folder.glob("*.npy"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="CamVid folder (default: $CAMVID_DIR)")
    p.add_argument("--split", default="train")
    p.add_argument("--task", default="camvid11")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    print("| scale | frames | frame | cache MB | first build s | warm load s | cold load s |")
    print("|---|---|---|---|---|---|---|")
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="maxnas-cache-bench-") as cache:
            t0 = time.perf_counter()
            data = load_split(args.data_dir, args.split, args.task, scale, cache, progress=False)
            build = time.perf_counter() - t0
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeats):
                for cold in (False, True):
                    if cold:
                        _drop_page_cache(Path(cache))
                    t0 = time.perf_counter()
                    again = load_split(args.data_dir, args.split, args.task, scale, cache, False)
                    times[cold].append(time.perf_counter() - t0)
                    assert len(again) == len(data)
            mb = sum(f.stat().st_size for f in Path(cache).glob("*.npy")) / 1e6
            h, w = data.frame_size
            print(
                f"| {scale:g} | {len(data)} | {w}x{h} | {mb:.0f} | {build:.2f} | "
                f"{statistics.median(times[False]):.3f} | {statistics.median(times[True]):.3f} |"
            )


if __name__ == "__main__":
    main()
