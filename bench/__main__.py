"""`python -m bench [section …]`: run the benchmarks and print their figures."""
from __future__ import annotations

import os
import platform
import sys

from . import (batch_bench, gateway_bench, gateway_instructions, listing_bench, machine_bench, plan_bench,
               precheck_bench, upload_bench)

SECTIONS = {"machine": machine_bench.run, "gateway": gateway_bench.run, "instructions": gateway_instructions.run,
            "precheck": precheck_bench.run, "upload": upload_bench.run, "listing": listing_bench.run,
            "plan": plan_bench.run, "batch": batch_bench.run}


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    print(f"fundflow benchmarks on {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}")
    for name in chosen:
        for line in SECTIONS[name]():
            print(line, flush=True)
    if "machine" in chosen and len(chosen) > 1:
        for line in machine_bench.run(again=True):
            print(line, flush=True)


if __name__ == "__main__":
    main()
