"""The real python-openstackclient as the acceptance tests run it: ``openstack --os-cloud ovnet``
with only the clouds.yaml the server wrote (every other OS_* variable removed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OPENSTACK = Path(sys.executable).with_name("openstack")


class Osc:
    def __init__(self, clouds_yaml: Path):
        self.env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}
        for key in [k for k in self.env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
            del self.env[key]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(OPENSTACK), "--os-cloud", "ovnet", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)
        if check:
            assert proc.returncode == 0, f"openstack {' '.join(args)} failed: {proc.stderr}"
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "-f", "json").stdout)
