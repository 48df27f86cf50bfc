"""Small measuring helpers shared by the benchmarks: wall time, CPU time, peak memory."""

from __future__ import annotations

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
