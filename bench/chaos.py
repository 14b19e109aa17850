"""The fault storm (issue 15) at length: ``--kills`` SIGKILLs (default 200) of random daemons of a
private two-hypervisor ovnet with a private dockerd, under a random workload; prints kills,
operations, findings and the time from the last kill until ``ovnet check`` is clean
(tests/helpers/storm.py says what is killed, what the workload does and what is checked). Exit 1
when anything was found. SIGINT (Ctrl-C) stops the killing early and still runs the final checks.

    .venv/bin/python bench/chaos.py [--kills 200] [--seed N] [--gap 1.0 4.0]
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.storm import Storm  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--gap", type=float, nargs=2, default=(1.0, 4.0), help="seconds between kills, min max")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    started = time.monotonic()
    enough = threading.Event()  # SIGINT ends the killing early; the final checks and report still run
    signal.signal(signal.SIGINT, lambda *_: enough.set())

    def progress(n: int, name: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] kill {n}: {name}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="ovnet-chaos-") as root:
        storm = Storm(Path(root), seed)
        try:
            storm.start()
            report = storm.run(args.kills, tuple(args.gap), enough, progress)
        finally:
            storm.destroy()
    print("\n".join(report.lines()))
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
