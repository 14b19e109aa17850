"""``ovnet trace --from X`` takes a workload as its user names it (new-user finding: only a port's
id, name or exact device_id worked): a VM's name, a Podman or Docker container's name, full id or
unique id prefix, the way docker and podman resolve them, with a clear message otherwise."""

from __future__ import annotations

import pytest

from ovnet.apiclient import ApiError
from ovnet.cli import engines
from ovnet.cli.resolve import Ambiguous, Candidate, NoMatch, find_port, match

PODMAN_ID = "3f2a" + "0" * 56 + "c1c1"
INFRA_ID = "3f2b" + "1" * 56 + "infa"
DOCKER_ID = "9d1e" + "2" * 60
ENDPOINT = "e7" + "3" * 62


def _port(pid: str, name: str = "", device_id: str = "", ip: str = "10.0.0.9", owner: str = "compute:x") -> dict:
    return {"id": pid, "name": name, "device_id": device_id, "device_owner": owner if device_id else "",
            "network_id": "net1", "project_id": "p1", "fixed_ips": [{"ip_address": ip}]}


PORTS = [
    _port("aaaa1111-0000-4000-8000-000000000001", "p1"),
    _port("aaaa2222-0000-4000-8000-000000000002", "cni-3f2a00000000-eth0", PODMAN_ID),
    _port("bbbb0000-0000-4000-8000-000000000003", "", ENDPOINT),
    _port("cccc0000-0000-4000-8000-000000000004", "vm2-a", "vm2", "10.0.0.4"),
    _port("cccc0000-0000-4000-8000-000000000005", "vm2-b", "vm2", "10.0.1.4"),
    _port("dddd0000-0000-4000-8000-000000000006", "", "vm1"),
    _port("eeee0000-0000-4000-8000-000000000007", "", INFRA_ID),
    _port("ffff0000-0000-4000-8000-000000000008", "dup"),
    _port("ffff0000-0000-4000-8000-000000000009", "dup"),
    _port("12340000-0000-4000-8000-00000000000a", "", "5a5a" + "6" * 28, owner="network:router_interface"),
]
CONTAINERS = [
    engines.Container("podman", PODMAN_ID, ("web",)),
    engines.Container("podman", INFRA_ID, ("pod1-infra",)),
    engines.Container("podman", "3f2c" + "4" * 60, ("in-pod",), network_id=INFRA_ID),
    engines.Container("docker", DOCKER_ID, ("db",)),
    engines.Container("docker", "77" + "5" * 62, ("elsewhere",)),  # on no ovnet network
]


class Api:
    """The ports API as seen by a token (exact-match filters, as Neutron's)."""

    def __init__(self, ports=PORTS):
        self.ports = ports

    def show(self, singular, plural, ident):
        for port in self.ports:
            if port["id"] == ident:
                return port
        raise ApiError(404, "PortNotFound", ident)

    def list_ports(self, **filters):
        return [p for p in self.ports if all(p.get(k) == v for k, v in filters.items())]


@pytest.fixture(autouse=True)
def docker_endpoints(monkeypatch):
    # what `docker inspect` tells of the Docker containers' networks: only "db" is on an ovnet network
    real = engines.device_ids
    monkeypatch.setattr(engines, "device_ids", lambda c: ([ENDPOINT] if c.id == DOCKER_ID else [])
                        if c.engine == "docker" else real(c))


def _find(ref: str) -> dict:
    return find_port(Api(), ref, lambda: CONTAINERS)


@pytest.mark.parametrize("ref, port", [
    ("aaaa1111-0000-4000-8000-000000000001", "aaaa1111-0000-4000-8000-000000000001"),  # port id
    ("p1", "aaaa1111-0000-4000-8000-000000000001"),  # port name
    ("vm1", "dddd0000-0000-4000-8000-000000000006"),  # a VM's name (its ports' device_id)
    ("web", "aaaa2222-0000-4000-8000-000000000002"),  # Podman container name
    (PODMAN_ID, "aaaa2222-0000-4000-8000-000000000002"),  # its full id (the CNI port's device_id)
    ("3f2a", "aaaa2222-0000-4000-8000-000000000002"),  # a unique prefix of it
    ("in-pod", "eeee0000-0000-4000-8000-000000000007"),  # a pod member: the pod's infra container's port
    ("db", "bbbb0000-0000-4000-8000-000000000003"),  # Docker container name: its endpoint's port
    (DOCKER_ID, "bbbb0000-0000-4000-8000-000000000003"),  # Docker full id
    (DOCKER_ID[:12], "bbbb0000-0000-4000-8000-000000000003"),  # Docker short id, as `docker ps` shows it
    ("e73333", "bbbb0000-0000-4000-8000-000000000003"),  # a prefix of a device_id (an engine out of reach)
    ("dddd", "dddd0000-0000-4000-8000-000000000006"),  # a prefix of a port id
])
def test_a_workload_is_found_as_its_user_names_it(ref, port):
    assert _find(ref)["id"] == port


def test_a_workload_with_several_nics_lists_them():
    with pytest.raises(Ambiguous, match=r"^2 ports of workload 'vm2'; give a port id:$") as caught:
        _find("vm2")
    assert [line.split(":")[0] for line in caught.value.candidates] == ["vm2-a", "vm2-b"]
    assert "(10.0.1.4)" in caught.value.candidates[1]


def test_a_prefix_of_several_ids_is_ambiguous_and_names_them():
    with pytest.raises(Ambiguous, match=r"'3f2'; give more of an id") as caught:
        _find("3f2")  # web, pod1-infra and in-pod (whose ports are pod1-infra's: one candidate)
    assert len(caught.value.candidates) == 2
    assert any(line.startswith("podman container web (aaaa2222-") for line in caught.value.candidates)


def test_a_name_of_several_ports_is_ambiguous():
    with pytest.raises(Ambiguous, match=r"^2 ports named 'dup'"):
        _find("dup")


@pytest.mark.parametrize("ref, message", [
    ("nothing", r"^no port or workload 'nothing' \(a port's id or name, a VM's name, a Docker or Podman"),
    ("vm", r"^no port or workload 'vm'"),  # a name is matched whole: no prefix of "vm1", "vm2"
    ("elsewhere", r"^docker container elsewhere has no ovnet port that this token sees$"),
    ("5a5a", r"^no port or workload '5a5a'"),  # a router's id is no workload's: only its exact id matches
])
def test_unknown_or_portless_says_so(ref, message):
    with pytest.raises(NoMatch, match=message):
        _find(ref)


def test_a_full_id_wins_over_a_name_and_a_name_over_an_id_prefix():
    # docker's order: `docker inspect abc` is the container whose id is abc..., or named abc
    by_id, named, prefixed = Candidate("x", "abc"), Candidate("y", "123", ("abc",)), Candidate("z", "abcd")
    assert match("abc", [prefixed, named, by_id]) == [by_id]
    assert match("abc", [prefixed, named]) == [named]
    assert match("abc", [prefixed, Candidate("w", "abce")]) == [prefixed, Candidate("w", "abce")]
    assert match("ABC", [prefixed]) == []  # ids are lower-case hex: not an id as written


def test_engine_listings_are_read_as_the_clis_print_them():
    podman = ('[{"Id": "i1", "Names": ["pod1-infra"], "Pod": "P", "IsInfra": true},'
              ' {"Id": "c1", "Names": ["in-pod"], "Pod": "P", "IsInfra": false},'
              ' {"Id": "c2", "Names": ["alone"], "Pod": "", "IsInfra": false}]')
    assert engines.parse_podman(podman) == [engines.Container("podman", "i1", ("pod1-infra",)),
                                            engines.Container("podman", "c1", ("in-pod",), "i1"),
                                            engines.Container("podman", "c2", ("alone",))]
    assert engines.device_ids(engines.parse_podman(podman)[1]) == ["i1"]
    assert engines.parse_docker(f"{DOCKER_ID}\tdb,db-alias\n\n") == [engines.Container("docker", DOCKER_ID,
                                                                                         ("db", "db-alias"))]


def test_no_engine_installed_lists_nothing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert engines.containers() == []
