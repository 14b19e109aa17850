"""``ovnet cni install|uninstall``'s files: the conflist, the plugin with its interpreter line,
idempotency, and leaving other plugins' configurations alone."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ovnet.host.cni import install as cni_install


def test_install_twice_then_uninstall(tmp_path):
    conf, bins = tmp_path / "net.d", [tmp_path / "a", tmp_path / "b"]
    config = cni_install.conflist("n1", "net-id", "proj-id", tmp_path / "run" / "agent.sock")
    first = cni_install.install(config, conf, bins)
    again = cni_install.install(config, conf, bins)
    assert first == again == [conf / "n1.conflist", bins[0] / "ovnet", bins[1] / "ovnet"]
    written = json.loads((conf / "n1.conflist").read_text())
    assert written["cniVersion"] == "1.0.0" and written["plugins"][0]["type"] == "ovnet"
    assert written["plugins"][0]["network"] == "net-id" and written["plugins"][0]["project"] == "proj-id"
    assert "pool_size" not in written["plugins"][0]
    assert cni_install.conflist("n1", "net-id", "proj-id", tmp_path / "s", pool_size=3)["plugins"][0]["pool_size"] == 3
    plugin = bins[0] / "ovnet"
    assert os.access(plugin, os.X_OK) and plugin.read_text().startswith("#!/") and " -IS\n" in plugin.read_text()
    reply = subprocess.run([str(plugin)], input=b'{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                           capture_output=True, check=True)
    assert json.loads(reply.stdout)["supportedVersions"] == ["0.4.0", "1.0.0", "1.1.0"]

    cni_install.install(cni_install.conflist("n2", "other", None, tmp_path / "s"), conf, bins)
    assert cni_install.uninstall("n1", conf, bins) == [conf / "n1.conflist"]  # n2 still needs the plugin
    assert cni_install.uninstall("n2", conf, bins) == [conf / "n2.conflist", *(b / "ovnet" for b in bins)]
    assert cni_install.uninstall("n2", conf, bins) == []


def test_uninstall_leaves_another_plugins_conflist(tmp_path):
    (tmp_path / "br.conflist").write_text(json.dumps({"name": "br", "plugins": [{"type": "bridge"}]}))
    with pytest.raises(ValueError, match="not an ovnet"):
        cni_install.uninstall("br", tmp_path, [])
    assert (tmp_path / "br.conflist").exists()


@pytest.mark.parametrize("name", ["../escaped", "bad/name", "", ".hidden", "-dash", "a b"])
def test_a_name_that_is_no_cni_network_name_is_refused_and_nothing_written(tmp_path, name):
    # `--name ../escaped` once wrote a conflist outside --conf-dir (new-user finding)
    with pytest.raises(ValueError, match="not a CNI network name"):
        cni_install.conflist(name, "net-id", None, tmp_path / "agent.sock")
    with pytest.raises(ValueError):
        cni_install.uninstall(name, tmp_path / "conf", [tmp_path / "bin"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["net1", "A.b_c-1", "9lives"])
def test_cni_network_names_are_accepted(name):
    assert cni_install.check_name(name) == name


def test_configurations_that_sort_first_are_reported(tmp_path):
    # ctr run --cni took Debian's 87-podman-bridge.conflist over net1.conflist (new-user finding)
    assert cni_install.read_before(tmp_path / "missing", "net1") == []
    for name in ("87-podman-bridge.conflist", "10-old.conf", "zz-late.conflist", "zz.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in cni_install.read_before(tmp_path, "net1")] == ["10-old.conf", "87-podman-bridge.conflist"]
    assert cni_install.read_before(tmp_path, "00-net1") == []
