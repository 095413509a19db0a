"""The GPU path, one table: NVML discovery and readings (jobs.nvml, as the workers and the `gpus`
sampler use it), then the tile workload (jobs.workloads.tile.process_tile plus its two PNGs, what a
tile job computes) on NumPy against CuPy: the same statistics within tolerance, seconds per tile
and tiles per minute on each, and the GPU utilization NVML reported while CuPy ran.

    .venv/bin/python bench/gpu.py                  # sizes 512 2048 4096, 3 tiles each
    python3 bench/gpu.py --sizes 512 --tiles 1     # quick

It needs only NumPy, CuPy, nvidia-ml-py and Django importable: the compute modules are loaded
without the apps (no database, broker or Celery), so it also runs on a bare GPU host. Without CuPy
or a device it prints the NumPy column and says why CuPy is missing. Exit status 1 when CuPy and
NumPy disagree."""

import argparse
import importlib
import json
import sys
import threading
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_compute_modules():
    """jobs.nvml and jobs.workloads.tile without running the packages' __init__ (missionops starts
    Celery, jobs.workloads imports the models): bare packages pointing at the source folders."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(JOBS_GPU_BACKEND="auto", JOBS_SIMULATED_GPUS=2)
    for name, folder in (("missionops", "missionops"), ("jobs", "jobs"), ("jobs.workloads", "jobs/workloads")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(ROOT / folder)]
            sys.modules[name] = package
    return importlib.import_module("jobs.nvml"), importlib.import_module("jobs.workloads.tile")


def cupy_or_reason():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() == 0:
            return None, "CuPy found no CUDA device"
        return cupy, ""
    except Exception as error:  # not installed, or no driver
        return None, f"no CuPy: {error}"


def compare(on_cpu: dict, on_gpu: dict) -> float:
    """Largest relative difference between the two results' statistics; raises if one differs
    beyond the tile tests' tolerance (1e-6 relative; histogram counts within 0.1 % of the pixels)."""
    worst = 0.0
    for key, value in on_cpu.items():
        other = on_gpu[key]
        if key == "ndvi_histogram":
            moved = sum(abs(a - b) for a, b in zip(value, other, strict=True))
            if moved > 0.001 * on_cpu["pixels"]:
                raise AssertionError(f"{key}: {moved} pixels in other bins")
            continue
        difference = abs(value - other) / max(abs(value), 1e-9)
        if difference > 1e-6 and abs(value - other) > 1e-9:
            raise AssertionError(f"{key}: NumPy {value!r} vs CuPy {other!r}")
        worst = max(worst, difference)
    return worst


class UtilizationSampler:
    """NVML readings every 50 ms in a thread while CuPy works: the highest utilization seen."""

    def __init__(self, nvml, gpus):
        self.nvml, self.gpus = nvml, [g for g in gpus if not g.simulated]
        self.peak, self.stop = 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(0.05):
            for reading in self.nvml.read(self.gpus, {}):
                self.peak = max(self.peak, reading.utilization_pct)

    def __enter__(self):
        if self.gpus:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.gpus:
            self.thread.join()


def tile_once(tile, xp, size: int) -> dict:
    bbox = (10.0, 45.0, 11.0, 46.0)
    params = {"seed": 7, "size_px": size, "cloud_cover": 0.3, "cloud_threshold": 0.3, "device": "auto", "blocks": 8}
    stats, pictures = tile.process_tile(params=params, bbox=bbox, xp=xp)
    tile.quicklook_png(pictures["rgb"])
    tile.ndvi_png(pictures["ndvi"], pictures["cloud"])
    return stats


def timed(tile, xp, size: int, count: int, sync) -> tuple[float, dict]:
    stats = tile_once(tile, xp, size)  # warm-up: CuPy compiles its kernels on first use
    sync()
    started = time.perf_counter()
    for _ in range(count):
        stats = tile_once(tile, xp, size)
    sync()
    return (time.perf_counter() - started) / count, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 4096])
    parser.add_argument("--tiles", type=int, default=3, help="timed tiles per size and backend")
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    args = parser.parse_args()

    import numpy as np

    nvml, tile = load_compute_modules()
    gpus = nvml.discover()
    print("GPUs (jobs.nvml.discover):")
    for gpu, reading in zip(gpus, nvml.read(gpus, {}), strict=True):
        kind = "simulated" if gpu.simulated else "NVML"
        temperature = "n/a" if reading.temperature_c is None else f"{reading.temperature_c:.0f} °C"
        print(
            f"  {gpu.index}: {gpu.name} [{kind}] {gpu.memory_total_mb} MiB, uuid {gpu.uuid}; "
            f"now {reading.utilization_pct:.0f} % busy, {reading.memory_used_mb:.0f} MiB used, {temperature}"
        )
    cupy, reason = cupy_or_reason()
    if cupy is None:
        print(f"CuPy column skipped: {reason}")
    else:
        print(f"CuPy {cupy.__version__} on {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")

    header = f"{'tile':>9} {'NumPy s':>9} {'tiles/min':>10} {'CuPy s':>9} {'tiles/min':>10} {'speed-up':>9}"
    header += f" {'max rel diff':>13} {'peak GPU %':>11}"
    print(f"\ntile workload (process_tile + 2 PNGs), {args.tiles} timed tiles each, after one warm-up")
    print(header)
    print("-" * len(header))
    mismatch = False
    summary = {"cupy": cupy is not None, "sizes": {}}
    for size in args.sizes:
        cpu_s, on_cpu = timed(tile, np, size, args.tiles, lambda: None)
        summary["sizes"][size] = {"numpy_s": round(cpu_s, 4)}
        row = f"{size:>6} px {cpu_s:>9.3f} {60 / cpu_s:>10.1f}"
        if cupy is not None:
            with UtilizationSampler(nvml, gpus) as sampler:
                gpu_s, on_gpu = timed(tile, cupy, size, args.tiles, cupy.cuda.Device().synchronize)
            try:
                difference = f"{compare(on_cpu, on_gpu):.1e}"
            except AssertionError as error:
                difference, mismatch = f"DIFFERS: {error}", True
            summary["sizes"][size].update(cupy_s=round(gpu_s, 4), speedup=round(cpu_s / gpu_s, 2))
            row += f" {gpu_s:>9.3f} {60 / gpu_s:>10.1f} {cpu_s / gpu_s:>8.1f}x {difference:>13} {sampler.peak:>11.0f}"
        print(row)
    if args.json:
        print(json.dumps(summary))
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
