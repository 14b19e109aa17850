"""Sample a running Python process with py-spy for one phase of a benchmark and print where it spent
its time: the top frames by own time (the frame on top of the stack) and by time spent inside
(the frame anywhere on the stack; ovnet's own functions only), as percentages of the samples taken.

py-spy reads the target's memory from outside (root, or ptrace permission), so the server under
measure runs unmodified. Only the thread holding the GIL is sampled: the profile shows where the
process' Python CPU goes (threads waiting for the GIL, a lock or a socket are left out; so is C
code that releases the GIL, such as SQLite running a statement).

    with Spy(pid, "creates", out_dir):   # out_dir/creates.txt holds the raw stacks
        ...the phase...
"""

from __future__ import annotations

import signal
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second
OWN_CODE = "(ovnet/"  # inclusive time is shown for ovnet's functions only (py-spy's short file names)


def py_spy() -> str:
    """The py-spy executable beside this interpreter (the test extras install it), else on PATH."""
    here = Path(sys.executable).with_name("py-spy")
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: pip install -e '.[test]'")
    return found


class Spy:
    """Context manager: py-spy records ``pid`` while the block runs; on exit writes
    ``<out_dir>/<name>.txt`` (raw folded stacks) and prints the ``top`` frames of both kinds."""

    def __init__(self, pid: int, name: str, out_dir: Path, top: int = 12):
        self.pid, self.name, self.top = pid, name, top
        self.path = out_dir / f"{name}.txt"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Spy:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([py_spy(), "record", "--pid", str(self.pid), "--rate", str(RATE),
                                      "--format", "raw", "--function", "--gil", "--nonblocking", "--output", str(self.path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        self.proc.wait(timeout=60)
        print(summary(self.path, self.name, self.top), flush=True)


def summary(path: Path, name: str, top: int) -> str:
    """The text of the ``top`` frames by own and by inclusive samples in py-spy's raw output ``path``."""
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines() if path.exists() else ():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        n = int(count)
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in {f for f in frames if OWN_CODE in f}:
            inside[frame] += n
    if not total:
        return f"-- profile {name}: no samples"
    lines = [f"-- profile {name}: {total} samples at {RATE}/s ({total / RATE:.1f} s of busy threads)"]
    for title, counts in (("own", own), ("inside", inside)):
        lines.append(f"   top by {title} time:")
        lines += [f"   {100 * n / total:5.1f}%  {frame}" for frame, n in counts.most_common(top)]
    return "\n".join(lines)
