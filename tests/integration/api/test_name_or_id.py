"""Name or id on the ``ovnet`` command line (ovnet.cli.resolve) against a real ovnet-server: an id
or a unique name finds the port, an ambiguous name lists the candidates, another project's port
stays unknown; ``ovnet project token`` takes a project's name or id."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ovnet.apiclient import ApiClient
from ovnet.cli.resolve import Ambiguous, NoMatch, resolve


def _ovnet(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "OVNET_API_PORT": str(settings.api_port)})


def test_ports_by_name_or_id_and_ambiguous_names_list_candidates(endpoint):
    settings = endpoint.settings
    with ApiClient(settings.api_endpoints, endpoint.token) as admin:
        nets = [admin.create_network(name=f"n{i}") for i in range(2)]
        for net in nets:
            admin.create_subnet(network_id=net["id"], cidr="10.5.0.0/24", ip_version=4)
        twins = [admin.create_port(network_id=net["id"], name="twin") for net in nets]
        p10 = admin.create_port(network_id=nets[0]["id"], name="p10")
        assert resolve(admin, "ports", "p10") == p10["id"]
        assert resolve(admin, "ports", p10["id"]) == p10["id"]
        assert resolve(admin, "networks", "n1") == nets[1]["id"]
        with pytest.raises(Ambiguous) as ambiguous:
            resolve(admin, "ports", "twin")
        assert sorted(line.split()[0] for line in ambiguous.value.candidates) == sorted(t["id"] for t in twins)
        with pytest.raises(NoMatch):
            resolve(admin, "ports", "nothing-called-so")

    # The command line: libvirt-xml takes the name; an ambiguous one exits 2 listing both ids.
    shown = _ovnet(settings, "port", "libvirt-xml", "p10")
    assert shown.returncode == 0, shown.stderr
    assert p10["id"] in shown.stdout
    twin = _ovnet(settings, "port", "libvirt-xml", "twin")
    assert twin.returncode == 2 and "2 ports are named 'twin'" in twin.stderr
    assert all(t["id"] in twin.stderr for t in twins)

    created = _ovnet(settings, "project", "create", "tenant-x")
    assert created.returncode == 0, created.stderr
    project_id = created.stdout.split("(")[1].split(")")[0]
    for name_or_id in ("tenant-x", project_id):
        again = _ovnet(settings, "project", "token", name_or_id)
        assert again.returncode == 0 and f"project: tenant-x ({project_id})" in again.stdout, again.stderr
    member = created.stdout.split("token: ")[1].split()[0]
    with ApiClient(settings.api_endpoints, member) as api, pytest.raises(NoMatch):
        resolve(api, "ports", "p10")  # another project's port is not there for a member


def test_every_command_help_gives_an_example():
    import typer.main

    from ovnet.cli.main import app

    root = typer.main.get_command(app)
    assert "Example:" in (root.epilog or "")
    stack = list(root.commands.items())
    seen = 0
    while stack:
        name, command = stack.pop()
        if hasattr(command, "commands"):
            stack += [(f"{name} {n}", c) for n, c in command.commands.items()]
            continue
        assert "Example:" in (command.help or ""), f"ovnet {name} --help has no example"
        seen += 1
    assert seen >= 15
