"""GPU discovery and sampling: NVML (nvidia-ml-py) when a driver and devices are there, otherwise
a simulated inventory of `JOBS_SIMULATED_GPUS` devices (default 2), marked `simulated` everywhere,
so scheduling behaves the same on a laptop as on a GPU host."""

import logging
import math
import random
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

SIMULATED_NAME = "Simulated GPU (no NVML device)"
SIMULATED_MEMORY_MB = 16384


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    memory_total_mb: int
    simulated: bool


@dataclass(frozen=True)
class GpuReading:
    index: int
    utilization_pct: float
    memory_used_mb: float
    temperature_c: float | None


def _nvml():
    """The pynvml module, initialized, or None when there is no usable NVML."""
    if settings.JOBS_GPU_BACKEND == "simulated":
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            return None
        return pynvml
    except Exception as error:  # no library, no driver (NVMLError_LibraryNotFound), no device
        logger.debug("NVML unavailable: %s", error)
        return None


def discover() -> list[GpuInfo]:
    nvml = _nvml()
    if nvml is None:
        count = int(settings.JOBS_SIMULATED_GPUS)
        return [GpuInfo(i, SIMULATED_NAME, f"sim-{i}", SIMULATED_MEMORY_MB, True) for i in range(count)]
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(handle)
        uuid = nvml.nvmlDeviceGetUUID(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        gpus.append(
            GpuInfo(
                index=index,
                name=name.decode() if isinstance(name, bytes) else name,
                uuid=uuid.decode() if isinstance(uuid, bytes) else uuid,
                memory_total_mb=int(memory.total // 2**20),
                simulated=False,
            )
        )
    return gpus


def read(gpus: list[GpuInfo], busy: dict[int, int]) -> list[GpuReading]:
    """One reading per GPU. `busy` maps GPU index -> running job id (drives the simulation)."""
    nvml = None if all(g.simulated for g in gpus) else _nvml()
    readings = []
    for gpu in gpus:
        if gpu.simulated or nvml is None:
            readings.append(_simulated_reading(gpu, gpu.index in busy))
            continue
        handle = nvml.nvmlDeviceGetHandleByIndex(gpu.index)
        utilization = nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        try:
            temperature = float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        except Exception:  # some devices (MIG slices) do not report temperature
            temperature = None
        readings.append(GpuReading(gpu.index, float(utilization.gpu), memory.used / 2**20, temperature))
    return readings


def _simulated_reading(gpu: GpuInfo, busy: bool) -> GpuReading:
    wave = math.sin(time.time() / 20 + gpu.index)
    if busy:
        return GpuReading(gpu.index, 85 + 10 * random.random(), 6000 + 1500 * wave, 68 + 5 * wave)
    return GpuReading(gpu.index, 2 * random.random(), 300 + 20 * wave, 38 + 2 * wave)
