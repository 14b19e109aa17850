"""Roles and cluster settings (pure): validation, the remotes `--central` means, where the
members of a clustered central live and which services each role runs."""

from __future__ import annotations

import pytest

from ovnet.config import Settings, SettingsError, central_remotes
from ovnet.runtime import cluster
from ovnet.runtime.roles import role_services, with_cluster_remotes


def test_central_address_gives_nb_sb_and_api_remotes_one_per_member():
    assert central_remotes("10.0.0.1,10.0.0.2", 6641, 6642, 9696) == {
        "nb_remotes": ("tcp:10.0.0.1:6641", "tcp:10.0.0.2:6641"),
        "sb_remotes": ("tcp:10.0.0.1:6642", "tcp:10.0.0.2:6642"),
        "api_urls": ("http://10.0.0.1:9696", "http://10.0.0.2:9696")}
    assert central_remotes("fd00::1")["nb_remotes"] == ("tcp:[fd00::1]:6641",)
    with pytest.raises(SettingsError):
        central_remotes(" , ")


@pytest.mark.parametrize("bad, needle", [
    (dict(role="storage"), "bad role"),
    (dict(cluster_size=2), "cluster size"),
    (dict(cluster_size=3, cluster_member=2), "--cluster-remotes"),
    (dict(cluster_size=3, cluster_member=4, cluster_remotes="a,b,c"), "--cluster-remotes"),
    (dict(role="compute", cluster_size=3), "compute"),
])
def test_inconsistent_role_or_cluster_settings_are_one_line_errors(tmp_path, bad, needle):
    with pytest.raises(SettingsError, match=needle):
        Settings(state_dir=tmp_path, **bad)


def test_one_machine_cluster_members_have_own_namespaces_addresses_and_sockets(tmp_path):
    settings = Settings(state_dir=tmp_path, role="central", cluster_size=3, nb_port=7001, sb_port=7002)
    members = cluster.members(settings)
    assert [m.address for m in members] == ["100.65.0.1", "100.65.0.2", "100.65.0.3"]
    assert len({m.netns for m in members}) == 3 and all(m.netns for m in members)
    remotes = with_cluster_remotes(settings)
    assert remotes.nb_connection == ",".join(f"unix:{tmp_path}/cluster/c{n}/run/ovn/ovnnb_db.sock" for n in (1, 2, 3))
    names = [s.name for s in role_services(remotes)]
    assert names[:2] == ["c1/ovsdb-nb", "c1/ovsdb-sb"] and names[-1] == "ovnet-server"
    assert names[6:9] == ["c1/ovn-northd", "c2/ovn-northd", "c3/ovn-northd"]
    northd = role_services(remotes)[6].argv
    assert "--ovnnb-db=tcp:100.65.0.1:7001,tcp:100.65.0.2:7001,tcp:100.65.0.3:7001" in northd


def test_a_real_machine_member_runs_its_own_servers_and_clients_use_every_member(tmp_path):
    settings = Settings(state_dir=tmp_path, role="central", cluster_size=3, cluster_member=2,
                        cluster_remotes="10.0.0.1,10.0.0.2,10.0.0.3", listen_host="0.0.0.0")
    (member,) = cluster.members(settings)
    assert (member.index, member.address, member.netns, member.prefix) == (2, "10.0.0.2", None, "")
    assert with_cluster_remotes(settings).sb_connection == "tcp:10.0.0.1:6642,tcp:10.0.0.2:6642,tcp:10.0.0.3:6642"
    assert [s.name for s in role_services(settings)] == ["ovsdb-nb", "ovsdb-sb", "ovn-northd", "ovnet-server"]


def test_compute_runs_the_chassis_and_the_agent_only(tmp_path):
    settings = Settings(state_dir=tmp_path, role="compute", datapath="netdev", sb_remotes="tcp:10.0.0.1:6642")
    assert [s.name for s in role_services(settings)] == ["ovsdb-local", "ovs-vswitchd", "ovn-controller",
                                                          "ovnet-agent"]
    assert with_cluster_remotes(settings) is settings
