"""Settings precedence and coercion, and the datapath choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ovnet.config import Settings, SettingsError, load_settings
from ovnet.runtime.chassis import choose_datapath


def test_defaults_give_neutron_port_and_geneve_mtu(tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_STATE_DIR", raising=False)
    s = load_settings(tmp_path)
    assert (s.api_port, s.nb_port, s.sb_port) == (9696, 6641, 6642)
    assert s.network_mtu == 1442
    assert s.nb_url == "tcp:127.0.0.1:6641"


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    Settings(state_dir=tmp_path, nb_port=7000, sb_port=7001, api_port=7002).save()
    monkeypatch.setenv("OVNET_SB_PORT", "8001")
    s = load_settings(tmp_path, api_port=9002, nb_port=None)
    assert (s.nb_port, s.sb_port, s.api_port) == (7000, 8001, 9002)
    assert s.state_dir == Path(tmp_path)
    assert (tmp_path / "settings.json").stat().st_mode & 0o777 == 0o600


def test_unknown_setting_and_bad_value_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown setting"):
        load_settings(tmp_path, nb_prot=1)
    monkeypatch.setenv("OVNET_NB_PORT", "many")
    with pytest.raises(ValueError):
        load_settings(tmp_path)


def test_explicit_datapath_is_kept_and_nonsense_refused():
    assert choose_datapath("netdev") == "netdev"
    assert choose_datapath("system") == "system"
    with pytest.raises(ValueError):
        choose_datapath("kernel")


def test_auto_datapath_follows_the_kernel_module():
    choice = choose_datapath("auto")
    # Checked after the call: "auto" may have loaded the module with modprobe.
    assert choice == ("system" if Path("/sys/module/openvswitch").exists() else "netdev")


def test_unreadable_settings_file_is_a_settings_error(tmp_path):
    (tmp_path / "settings.json").write_text("{bad")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings(tmp_path)
    (tmp_path / "settings.json").write_text("[1, 2]")
    with pytest.raises(SettingsError, match="JSON object"):
        load_settings(tmp_path)


def test_cli_reports_bad_settings_in_one_line(tmp_path):
    (tmp_path / "settings.json").write_text("{bad")
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "status", "--state-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error:") and "settings.json is not valid JSON" in done.stderr
