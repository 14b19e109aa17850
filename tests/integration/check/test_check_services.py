"""`ovnet check` with services down: a layer that could not be read, or a dead daemon, never reads
as "all layers agree". Services killed with SIGKILL are findings of the ``services`` layer (exit
1); with NB's ovsdb-server dead too, the other layers' findings are still printed and the exit is 2.
Its own all-in-one, since it kills daemons (they are the ones this test's fixture started)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ovnet.runtime import allinone as aio
from ovnet.runtime.process import pid_alive, wait_until
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def ovnet_check(settings) -> subprocess.CompletedProcess:
    env = dict(os.environ, OVNET_SQL_URL=settings.sql_url)
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", "check", "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, env=env, timeout=180)


def _kill(settings, name: str) -> None:
    pid = next(svc.pid() for svc in aio.services(settings) if svc.name == name)
    assert pid, name
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: f"{name} ({pid}) still alive" if pid_alive(pid) else None, 30) is None


def test_dead_services_are_findings_and_an_unreadable_nb_does_not_hide_them(tmp_path):
    with running_allinone(tmp_path) as settings:
        clean = ovnet_check(settings)
        assert clean.returncode == 0, clean.stdout + clean.stderr

        _kill(settings, "ovnet-server")
        _kill(settings, "ovn-controller")
        done = ovnet_check(settings)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "services: ovnet-server is not running" in done.stdout
        assert "services: ovn-controller is not running" in done.stdout
        assert "no findings" not in done.stdout

        _kill(settings, "ovsdb-nb")
        done = ovnet_check(settings)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "services: ovsdb-nb is not running" in done.stdout  # the readable layers are still reported
        assert "services: ovn-controller is not running" in done.stdout
        assert done.stderr.startswith("error: ") and "no findings" not in done.stdout
