"""``ovnet port libvirt-xml``: the <interface> element validates against libvirt's own RNG schema
(virt-xml-validate from Debian's libvirt-clients) inside a minimal domain."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from ovnet.cli.main import app
from ovnet.host.libvirt import interface_xml, tap_name
from tests.helpers.hostnet import ApiNetwork

PORT = {"id": "3f2a9c1e-5b7d-4e21-9a0c-1d2e3f405162", "mac_address": "fa:16:3e:12:34:56"}


def validate(interface: str, tmp_path) -> subprocess.CompletedProcess:
    if shutil.which("virt-xml-validate") is None or shutil.which("xmllint") is None:
        pytest.skip("virt-xml-validate/xmllint missing: `make setup` installs libvirt-clients and libxml2-utils")
    domain = tmp_path / "domain.xml"
    domain.write_text("<domain type='qemu'><name>ovnet-test</name><memory unit='MiB'>256</memory>"
                      f"<os><type arch='x86_64'>hvm</type></os><devices>{interface}</devices></domain>")
    return subprocess.run(["virt-xml-validate", str(domain), "domain"], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("userspace", [True, False])
def test_interface_validates_against_libvirt_schema(tmp_path, userspace):
    xml = interface_xml(PORT, {"mtu": 1442}, bridge="br-int", userspace_datapath=userspace)
    done = validate(xml, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    iface = ET.fromstring(xml)
    assert iface.get("type") == "bridge"
    assert iface.find("source").get("bridge") == "br-int"
    assert iface.find("virtualport").get("type") == "openvswitch"
    assert iface.find("virtualport/parameters").get("interfaceid") == PORT["id"]
    assert iface.find("mac").get("address") == PORT["mac_address"]
    assert iface.find("mtu").get("size") == "1442"
    assert iface.find("model").get("type") == "virtio"
    assert iface.find("target").get("dev") == tap_name(PORT["id"]) == "tap3f2a9c1e-5b"
    assert (iface.find("driver/host") is not None) == userspace


def test_schema_check_rejects_a_broken_interface(tmp_path):
    broken = interface_xml(PORT, {"mtu": 1442}).replace("type=\"openvswitch\"", "type=\"no-such-switch\"")
    assert validate(broken, tmp_path).returncode != 0


@pytest.mark.root
@pytest.mark.ovn
def test_cli_prints_the_port_interface(allinone, api, tmp_path):
    net = ApiNetwork(api, "10.82.0")
    port = net.port(5)
    done = CliRunner().invoke(app, ["port", "libvirt-xml", port["id"], "--state-dir", str(allinone.state_dir)])
    assert done.exit_code == 0, done.output
    iface = ET.fromstring(done.output)
    assert iface.find("virtualport/parameters").get("interfaceid") == port["id"]
    assert iface.find("mac").get("address") == port["mac_address"]
    assert iface.find("mtu").get("size") == str(api.show_network(port["network_id"])["mtu"])
    assert iface.find("source").get("bridge") == allinone.bridge
    assert validate(done.output, tmp_path).returncode == 0

    missing = CliRunner().invoke(app, ["port", "libvirt-xml", "no-such-port", "--state-dir", str(allinone.state_dir)])
    assert missing.exit_code == 1 and "PortNotFound" in missing.output
