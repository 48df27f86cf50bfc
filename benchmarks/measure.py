"""Small measuring helpers shared by the benchmarks: wall time, CPU time, peak memory."""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Measured:
    """What one measured call cost."""

    wall_seconds: float
    cpu_seconds: float
    peak_python_mib: float


def measure(func: Callable[[], T]) -> tuple[T, Measured]:
    """Call func once; report wall and CPU time and the peak of Python allocations."""
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = func()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, Measured(wall, cpu, peak / (1024 * 1024))


def reset_peak_rss() -> bool:
    """Restart the process's peak-RSS count (Linux); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")  # 5: reset the high-water mark (VmHWM) to the current RSS
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """The process's peak resident memory since start or the last `reset_peak_rss`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
