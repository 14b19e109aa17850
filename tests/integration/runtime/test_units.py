"""``ovnet install-units`` writes units that ``systemd-analyze verify`` accepts, for every role.

systemd is not PID 1 here; ``systemd-analyze verify`` checks unit files offline (syntax, unknown
keys, executables exist, referenced units load), which is what this test relies on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ovnet.config import ROLES
from ovnet.runtime.units import TARGET

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze not installed (Debian package systemd)")


@pytest.mark.parametrize("role", ROLES)
def test_units_of_each_role_pass_systemd_analyze_verify(tmp_path, role):
    units_dir, state = tmp_path / "units", tmp_path / "state"
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "install-units", "--role", role,
                           "--dir", str(units_dir), "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "OVNET_NETNS": "ovt-units"})
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in units_dir.iterdir())
    assert TARGET in names and (state / "settings.json").exists()
    expected = {"all-in-one": 8, "central": 4, "compute": 4}[role]
    assert len(names) == expected + 1
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(units_dir / n) for n in names)],
                            capture_output=True, text=True, timeout=120, cwd=units_dir)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    target = (units_dir / TARGET).read_text()
    for name in names:
        if name != TARGET:
            text = (units_dir / name).read_text()
            assert "Restart=on-failure" in text and f"WantedBy={TARGET}" in text
            assert name in target
    if role != "central":
        controller = (units_dir / "ovnet-ovn-controller.service").read_text()
        assert "Requires=ovnet-ovs-vswitchd.service" in controller and "Type=forking" in controller
        agent = (units_dir / "ovnet-agent.service").read_text()
        assert "ovnet-ovn-controller.service" in agent.split("After=")[1].splitlines()[0]


def test_an_unknown_role_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "install-units", "--role", "storage",
                           "--dir", str(tmp_path / "u"), "--state-dir", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "role must be one of" in done.stderr
    assert not (tmp_path / "u").exists()
