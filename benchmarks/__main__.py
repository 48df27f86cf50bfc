"""Run every benchmark: `make bench` (or `python -m benchmarks [NAME ...]`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from benchmarks import bench_hubspot, bench_salesforce, bench_scoring, bench_store, bench_sync

BENCHMARKS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "store": bench_store.run,
    "salesforce": bench_salesforce.run,
    "hubspot": bench_hubspot.run,
    "sync": bench_sync.run,
    "scoring": bench_scoring.run,
}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default) and print one JSON line per result."""
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        for result in BENCHMARKS[name]():
            print(json.dumps({"benchmark": name, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
