"""The real python-openstackclient as the acceptance tests run it: ``openstack --os-cloud ovnet``
with only the clouds.yaml the server wrote (every other OS_* variable removed).

Each command runs in a process of its own, forked by tests/helpers/osc_zygote.py from an
interpreter that imported the client once (one such server per test process, stopped by pid at
exit), which spares each of the ~130 commands ~1.2 s of CPU spent importing.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

OPENSTACK = Path(sys.executable).with_name("openstack")
ZYGOTE = Path(__file__).with_name("osc_zygote.py")
TIMEOUT_S = 120


class _Zygote:
    """The forking server, started on first use."""

    proc: subprocess.Popen | None = None

    @classmethod
    def run(cls, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        if cls.proc is None or cls.proc.poll() is not None:
            cls.proc = subprocess.Popen([sys.executable, str(ZYGOTE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
            atexit.register(cls.stop, cls.proc)
        with tempfile.TemporaryDirectory(prefix="ovnet-osc-") as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            cls.proc.stdin.write(json.dumps({"argv": argv, "env": env, "stdout": str(out), "stderr": str(err),
                                             "timeout": TIMEOUT_S}) + "\n")
            cls.proc.stdin.flush()
            answer = cls.proc.stdout.readline()
            if not answer:
                raise RuntimeError(f"the openstack command server exited ({cls.proc.wait()})")
            code = json.loads(answer)["code"]
            return subprocess.CompletedProcess([str(OPENSTACK), *argv], code, out.read_text(), err.read_text())

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.stdin.close()  # it ends when its stdin closes
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Osc:
    def __init__(self, clouds_yaml: Path):
        self.env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}
        for key in [k for k in self.env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
            del self.env[key]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``openstack --os-cloud ovnet ARGS``: its exit status and output."""
        proc = _Zygote.run(["--os-cloud", "ovnet", *args], self.env)
        if check:
            assert proc.returncode == 0, f"openstack {' '.join(args)} failed: {proc.stderr}"
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "-f", "json").stdout)
