"""Time a clean book build (execution cache cleared) and a rebuild with nothing changed.

Runs ``jupyter-book build . -W -n --keep-going`` twice from the repository root,
sampling the summed resident memory of the whole process tree (the build and
its kernels) every 0.2 s. The last line printed is JSON with both wall times and
the peak memory of the clean build.

    python benchmarks/book_build.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def build() -> tuple[float, float]:
    """Wall seconds and peak summed RSS (GiB) of one build."""
    exe = Path(sys.executable).with_name("jupyter-book")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stderr.read()[-3000:]}")
    return wall, peak / 2**30


def main() -> None:
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    clean_wall, clean_peak = build()
    print(f"clean build (cache cleared): {clean_wall:.1f} s, peak memory {clean_peak:.2f} GiB")
    rebuild_wall, rebuild_peak = build()
    print(f"rebuild, nothing changed:   {rebuild_wall:.1f} s, peak memory {rebuild_peak:.2f} GiB")
    print(json.dumps({"clean_build_s": round(clean_wall, 1), "clean_peak_gib": round(clean_peak, 2),
                      "rebuild_s": round(rebuild_wall, 1)}))


if __name__ == "__main__":
    main()
