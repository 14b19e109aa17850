"""Settings precedence and coercion, and the datapath choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ovnet.config import SETTINGS_FILE, Settings, SettingsError, load_settings
from ovnet.runtime.chassis import choose_datapath


def test_defaults_give_neutron_port_and_geneve_mtu(tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_STATE_DIR", raising=False)
    s = load_settings(tmp_path)
    assert (s.api_port, s.nb_port, s.sb_port) == (9696, 6641, 6642)
    assert s.network_mtu == 1442
    assert (s.nb_connection, s.sb_connection) == ("tcp:127.0.0.1:6641", "tcp:127.0.0.1:6642")
    assert s.api_endpoints == ("http://127.0.0.1:9696",)


def test_remotes_are_not_derived_from_listen_host(tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_STATE_DIR", raising=False)
    s = load_settings(tmp_path, listen_host="0.0.0.0", nb_port=7641)
    assert (s.nb_connection, s.api_url) == ("tcp:127.0.0.1:7641", "http://127.0.0.1:9696")


def test_remote_lists_from_file_environment_and_flags(tmp_path, monkeypatch):
    cluster = ("tcp:10.0.0.1:6641", "tcp:10.0.0.2:6641", "ssl:[fd00::3]:6641")
    Settings(state_dir=tmp_path, nb_remotes=cluster, api_urls=("http://10.0.0.1:9696",)).save()
    monkeypatch.setenv("OVNET_SB_REMOTES", "tcp:10.0.0.1:6642, tcp:10.0.0.2:6642")
    s = load_settings(tmp_path, api_urls="http://a:9696,https://b:443/")
    assert s.nb_connection == ",".join(cluster)  # OVN's own spelling of a Raft cluster's remotes
    assert s.sb_connection == "tcp:10.0.0.1:6642,tcp:10.0.0.2:6642"
    assert s.api_endpoints == ("http://a:9696", "https://b:443/") and s.api_url == "http://a:9696"
    assert load_settings(tmp_path).nb_remotes == cluster  # saved as a JSON list, read back as a tuple


@pytest.mark.parametrize("field,value", [
    ("nb_remotes", "10.0.0.1:6641"), ("nb_remotes", "tcp:10.0.0.1"), ("sb_remotes", "tcp:10.0.0.1:70000"),
    ("sb_remotes", "udp:10.0.0.1:6642"), ("api_urls", "10.0.0.1:9696"), ("api_urls", "ftp://x:1"),
    ("api_urls", "http://x:99999"), ("nb_remotes", 6641)])
def test_a_bad_remote_is_a_one_line_settings_error(tmp_path, field, value):
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, **{field: value})
    assert "\n" not in str(exc.value)


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    Settings(state_dir=tmp_path, nb_port=7000, sb_port=7001, api_port=7002).save()
    monkeypatch.setenv("OVNET_SB_PORT", "8001")
    s = load_settings(tmp_path, api_port=9002, nb_port=None)
    assert (s.nb_port, s.sb_port, s.api_port) == (7000, 8001, 9002)
    assert s.state_dir == Path(tmp_path)
    assert (tmp_path / SETTINGS_FILE).stat().st_mode & 0o777 == 0o600


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


def test_the_public_namespace_is_per_state_dir(tmp_path):
    """Namespace names are machine-wide: only the default state dir's public network is
    "ovnet-public" (the README's ``ip netns exec ovnet-public``); another gets one of its own,
    which it keeps through settings.json; an explicit name wins."""
    from ovnet.config import DEFAULT_STATE_DIR

    assert Settings(state_dir=DEFAULT_STATE_DIR).public_netns == "ovnet-public"
    one, two = Settings(state_dir=tmp_path / "one"), Settings(state_dir=tmp_path / "two")
    assert one.public_netns.startswith("ovnet-public-") and one.public_netns != two.public_netns
    one.save()
    assert load_settings(tmp_path / "one").public_netns == one.public_netns
    assert Settings(state_dir=tmp_path / "one", public_netns="mine").public_netns == "mine"
