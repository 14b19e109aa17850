"""The CNI protocol, pure: requests parsed from the recorded podman/ctr traces, Results built from
Neutron JSON and converted between spec versions, error codes; and ovnet-cni without an agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovnet import cniplugin
from ovnet.host.cni import protocol as p

TRACES = Path(__file__).resolve().parents[2] / "fixtures" / "cni-traces"


def _trace_calls(name: str) -> list[dict]:
    lines = [json.loads(line) for line in (TRACES / name).read_text().splitlines() if line.strip()]
    return [c for c in lines if "env" in c and "stdin_json" in c]


def test_podman_add_with_static_ip_and_mac_from_cni_args():
    [add] = [c for c in _trace_calls("11-run-ip-mac-port.jsonl") if c["env"]["CNI_COMMAND"] == "ADD"
             and c["argv"][0].endswith("tracelog")]
    request = p.parse_request("ADD", add["env"], add["stdin_json"])
    assert request.container_id == add["env"]["CNI_CONTAINERID"] and request.ifname == "eth0"
    assert request.netns.startswith("/run/netns/netns-")
    assert request.ips == ("10.99.78.33",) and request.mac and request.mac.startswith("02:")
    assert request.network == request.name == add["stdin_json"]["name"]


def test_ctr_del_with_empty_netns_is_valid():
    dels = [c for c in _trace_calls("42-ctr-run-rm-foreground.jsonl") if c["env"]["CNI_COMMAND"] == "DEL"]
    request = p.parse_request("DEL", dels[0]["env"], dels[0]["stdin_json"])
    assert request.netns == "" and request.container_id.startswith("t-")


def test_pool_size_is_read_from_the_configuration():
    env = {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"}
    assert p.parse_request("ADD", env, {"cniVersion": "1.0.0", "name": "n"}).pool_size == 0
    assert p.parse_request("ADD", env, {"cniVersion": "1.0.0", "name": "n", "pool_size": 3}).pool_size == 3


def test_gc_reads_either_attachments_key():
    config = {"cniVersion": "1.1.0", "name": "n", "cni.dev/attachments": [{"containerID": "a", "ifname": "eth0"}]}
    assert p.parse_request("GC", {}, config).valid == {("a", "eth0")}
    config["cni.dev/valid-attachments"] = [{"containerID": "b", "ifname": "eth1"}]
    assert p.parse_request("GC", {}, config).valid == {("b", "eth1")}


@pytest.mark.parametrize("verb, env, config, code", [
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0"}, {"cniVersion": "1.0.0", "name": "n"}, 4),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"}, {"cniVersion": "0.3.1", "name": "n"}, 1),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"}, {"cniVersion": "1.0.0"}, 7),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x", "CNI_ARGS": "IP=10.0.0.300"},
     {"cniVersion": "1.0.0", "name": "n"}, 7),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x", "CNI_ARGS": "junk"},
     {"cniVersion": "1.0.0", "name": "n"}, 4),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth:0", "CNI_NETNS": "/x"},
     {"cniVersion": "1.0.0", "name": "n"}, 4),
    ("CHECK", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "a" * 16, "CNI_NETNS": "/x"},
     {"cniVersion": "1.0.0", "name": "n"}, 4),
    ("STATUS", {}, {"cniVersion": "1.0.0", "name": "n"}, 1),
    ("GC", {}, {"cniVersion": "1.1.0", "name": "n"}, 7),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"},
     {"cniVersion": "1.0.0", "name": "n", "pool_size": -1}, 7),
    ("ADD", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"},
     {"cniVersion": "1.0.0", "name": "n", "pool_size": p.POOL_MAX + 1}, 7),
    ("DEL", {"CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0"}, {"cniVersion": "1.0.0", "name": "n", "pool_size": "2"}, 7),
])
def test_bad_requests_raise_the_spec_code(verb, env, config, code):
    with pytest.raises(p.CniError) as caught:
        p.parse_request(verb, env, config)
    assert caught.value.code == code


PORT = {"mac_address": "fa:16:3e:00:00:01", "fixed_ips": [{"subnet_id": "s4", "ip_address": "10.0.0.5"},
                                                          {"subnet_id": "s6", "ip_address": "fd00::5"}]}
SUBNETS = [{"id": "s4", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "dns_nameservers": ["10.0.0.53"],
            "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}]},
           {"id": "s6", "cidr": "fd00::/64", "gateway_ip": None, "dns_nameservers": []}]


def test_result_and_its_versions():
    result = p.build_result("eth0", "/run/netns/x", PORT, {"mtu": 1442}, SUBNETS)
    assert result["interfaces"] == [{"name": "eth0", "mac": PORT["mac_address"], "sandbox": "/run/netns/x", "mtu": 1442}]
    assert result["ips"] == [{"address": "10.0.0.5/24", "interface": 0, "gateway": "10.0.0.1"},
                             {"address": "fd00::5/64", "interface": 0}]
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}, {"dst": "192.168.0.0/16", "gw": "10.0.0.254"}]
    assert result["dns"] == {"nameservers": ["10.0.0.53"]}
    v1 = p.convert_result(result, "1.0.0")
    assert v1["cniVersion"] == "1.0.0" and "mtu" not in v1["interfaces"][0] and v1["ips"] == result["ips"]
    v04 = p.convert_result(result, "0.4.0")
    assert [ip["version"] for ip in v04["ips"]] == ["4", "6"]
    assert result["interfaces"][0]["mtu"] == 1442  # the 1.1.0 Result is not changed in place


def test_tags_fit_neutron_limit():
    assert len(p.tag(p.NETWORK_TAG, "n" * 100)) == p.TAG_MAX


def _run_plugin(environ: dict, stdin: bytes) -> tuple[int, dict | None]:
    status, text = cniplugin.run(environ, stdin)
    return status, None if text is None else json.loads(text)


def test_plugin_version_and_errors_without_an_agent(tmp_path):
    assert _run_plugin({"CNI_COMMAND": "VERSION"}, b'{"cniVersion":"0.3.1"}') == (
        0, {"cniVersion": "0.3.1", "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]})
    status, error = _run_plugin({"CNI_COMMAND": "ADD"}, b"[")
    assert status == 1 and error["code"] == 6
    token = tmp_path / "token"
    token.write_text("t\n")
    config = {"cniVersion": "1.1.0", "name": "n", "agent_socket": str(tmp_path / "none.sock"),
              "token_file": str(token)}
    for verb, code in (("ADD", 11), ("DEL", 11), ("STATUS", 50)):
        status, error = _run_plugin({"CNI_COMMAND": verb}, json.dumps(config).encode())
        assert (status, error["code"], error["cniVersion"]) == (1, code, "1.1.0")
    del config["token_file"]
    status, error = _run_plugin({"CNI_COMMAND": "ADD"}, json.dumps(config).encode())
    assert error["code"] == 7 and "token" in error["msg"]
    assert str(tmp_path.parent / "admin-token") in error["msg"]  # beside the socket's run dir



def test_a_socket_outside_a_state_dir_is_told_with_where_the_token_was_looked_for(tmp_path):
    # new-user finding: a conflist whose agent_socket is not <state>/run/agent.sock got only "cannot
    # read the agent token file" and an errno, which did not say what was wrong with the conflist
    sock = tmp_path / "elsewhere" / "agent.sock"
    sock.parent.mkdir()
    sock.touch()
    config = {"cniVersion": "1.1.0", "name": "n", "agent_socket": str(sock)}
    status, error = _run_plugin({"CNI_COMMAND": "ADD"}, json.dumps(config).encode())
    assert (status, error["code"]) == (1, 7)
    assert error["msg"] == (f"no agent token for agent_socket {sock}: looked for {tmp_path / 'admin-token'}, two "
                            "levels above the socket, where an ovnet state dir keeps it (<state>/run/agent.sock, "
                            "<state>/admin-token)")
    assert error["details"].startswith(f"No such file or directory; agent_socket {sock} exists. Point agent_socket")
    assert "token_file" in error["details"]
    sock.unlink()
    config["token_file"] = str(tmp_path / "my-token")
    status, error = _run_plugin({"CNI_COMMAND": "DEL"}, json.dumps(config).encode())
    assert error["code"] == 7 and error["msg"] == (f"cannot read token_file {tmp_path / 'my-token'} (set in the "
                                                   f"network configuration) for the ovnet agent at {sock}")
    assert error["details"] == f"No such file or directory; agent_socket {sock} does not exist either"

@pytest.mark.parametrize("content", ["a\nX-Injected: 1\n", "bögus\n", "x y\n", b"\xff\xfe"])
def test_plugin_refuses_a_token_file_that_cannot_be_a_header(tmp_path, content):
    """A line break would end the request's header early (the rest read as headers of the
    plugin's choosing); a non-ASCII token cannot be one. A CNI error, code 7, never a traceback."""
    token = tmp_path / "token"
    token.write_bytes(content if isinstance(content, bytes) else content.encode())
    config = {"cniVersion": "1.1.0", "name": "n", "agent_socket": str(tmp_path / "none.sock"),
              "token_file": str(token)}
    status, error = _run_plugin({"CNI_COMMAND": "ADD"}, json.dumps(config).encode())
    assert (status, error["code"]) == (1, 7) and str(token) in error["msg"], error


def test_plugin_imports_only_the_standard_librarys_c_modules():
    source = Path(cniplugin.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"_json", "_socket", "posix", "sys"}
    traced = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", cniplugin.__file__],
                            input=b'{"cniVersion": "1.0.0"}', env={"CNI_COMMAND": "VERSION"}, capture_output=True)
    assert traced.returncode == 0 and json.loads(traced.stdout)["cniVersion"] == "1.0.0"
    loaded = {line.split("|")[-1].strip() for line in traced.stderr.decode().splitlines() if "|" in line}
    assert not loaded & {"json", "re", "socket", "enum", "os"}, loaded  # the slow ones the plugin avoids
    malformed = subprocess.run([sys.executable, "-I", "-S", cniplugin.__file__], input=b"{not json",
                               env={"CNI_COMMAND": "ADD"}, capture_output=True)
    assert malformed.returncode == 1 and json.loads(malformed.stdout)["code"] == 6, malformed.stderr


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
PRINTED_VALUES = st.recursive(  # what the plugin encodes itself: error objects and VERSION answers
    st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(JSON_VALUES, st.sampled_from(["", " ", "\n", "\t\r\n "]))
def test_plugin_decodes_what_json_decodes(value, space):
    assert cniplugin.loads(f"{space}{json.dumps(value)}{space}".encode()) == value


@given(st.text(max_size=12))
def test_plugin_refuses_what_json_refuses(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            cniplugin.loads(text.encode())
    else:
        assert cniplugin.loads(text.encode()) == expected or expected != expected  # NaN


@given(PRINTED_VALUES)
def test_plugin_encodes_as_json_does(value):
    assert cniplugin.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("trace", ["04-run.jsonl", "12-rm-f.jsonl", "11-run-ip-mac-port.jsonl",
                                   "42-ctr-run-rm-foreground.jsonl"])
def test_every_recorded_add_and_del_parses(trace):
    calls = [c for c in _trace_calls(trace) if c["env"]["CNI_COMMAND"] in ("ADD", "DEL")]
    assert calls
    for call in calls:  # unknown keys, capabilities and prevResult are tolerated (cni.md B.4 pitfall 5)
        request = p.parse_request(call["env"]["CNI_COMMAND"], call["env"], call["stdin_json"])
        assert request.ifname == "eth0"


def test_shared_gate_lets_adds_overlap_and_gc_run_alone():
    import threading

    from ovnet.host.cni.service import SharedGate

    gate, events = SharedGate(), []
    first_in, release = threading.Event(), threading.Event()

    def add(name):
        with gate.shared():
            events.append(f"{name} in")
            first_in.set()
            release.wait(5)
            events.append(f"{name} out")

    def gc():
        with gate.exclusive():
            events.append("gc")

    adds = [threading.Thread(target=add, args=(n,)) for n in ("a", "b")]
    for t in adds:
        t.start()
    first_in.wait(5)
    while events.count("a in") + events.count("b in") < 2:
        threading.Event().wait(0.01)  # both ADDs hold the gate at once
    collector = threading.Thread(target=gc)
    collector.start()
    threading.Event().wait(0.1)
    assert "gc" not in events  # GC waits for the ADDs in flight
    release.set()
    for t in [*adds, collector]:
        t.join(5)
    assert events[-1] == "gc"
