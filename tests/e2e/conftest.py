"""Fixtures of the e2e tier: a private all-in-one whose agent serves a uniquely named Docker plugin,
with a private dockerd in the chassis' network namespace (where br-int and the veths live, so
dockerd finds Join's SrcName), one of each per test module (tests use unique Docker network names
and remove what they make); and the VM image, built once and cached across runs."""

from __future__ import annotations

import secrets
import shutil
import subprocess

import pytest

from ovnet.apiclient import ApiClient
from ovnet.config import load_settings
from ovnet.runtime import allinone as aio
from ovnet.testbed.dockerd import PrivateDockerd
from ovnet.testbed.vmimage import VmImage, build_image
from tests.helpers.allinone import private_settings


class DockerOnOvnet:
    """The pieces a Docker test needs: ``settings``, ``dockerd``, admin ``api``, ``plugin`` name."""

    def __init__(self, settings, dockerd: PrivateDockerd, api: ApiClient):
        self.settings, self.dockerd, self.api, self.plugin = settings, dockerd, api, settings.docker_plugin

    def docker(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run the docker CLI; with ``check`` a failure fails the test showing docker's stderr."""
        done = self.dockerd.docker(*args, check=False, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done

    def network_create(self, *args: str, check: bool = True) -> tuple[str, subprocess.CompletedProcess]:
        """``docker network create -d <plugin> --ipam-driver <plugin> ARGS <unique name>``."""
        name = f"dn-{secrets.token_hex(3)}"
        done = self.docker("network", "create", "-d", self.plugin, "--ipam-driver", self.plugin, *args, name,
                           check=check)
        return name, done

    def ovnet_network(self, docker_network: str) -> dict:
        """The ovnet network behind a Docker network (by the tag the plugin puts on it)."""
        docker_id = self.docker("network", "inspect", "-f", "{{.Id}}", docker_network).stdout.strip()
        found = self.api.list_networks(tags=f"docker.net:{docker_id[:48]}")
        assert len(found) == 1, found
        return found[0]


def _start(tmp_path, live_restore: bool):
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd is missing: `make setup` installs the Debian package docker.io")
    dockerd = PrivateDockerd(live_restore=live_restore)
    # GC every 2 s; an IPAM port unclaimed for 10 s is swept (well past a live CreateEndpoint's delay)
    settings = private_settings(tmp_path, docker_host=dockerd.host, sync_interval=2.0, docker_ipam_grace_period=10.0)
    return settings, dockerd


@pytest.fixture(scope="module")
def ovnet_docker(tmp_path_factory):
    """A running private all-in-one + dockerd (no live-restore) with the image ``bb``."""
    yield from _ovnet_docker(tmp_path_factory.mktemp("ovd"), live_restore=False)


def _ovnet_docker(tmp_path, live_restore: bool):
    settings, dockerd = _start(tmp_path, live_restore)
    api = None
    try:
        aio.up(settings)
        dockerd.netns = settings.netns
        dockerd.start()
        dockerd.import_busybox("bb:latest")
        api = ApiClient.from_settings(settings)
        yield DockerOnOvnet(settings, dockerd, api)
    finally:
        dockerd.destroy()
        if api is not None:
            api.close()
        aio.down(settings, purge=True)


@pytest.fixture(scope="session")
def vm_image() -> VmImage:
    """The VM image under the configured cache dir (built on first use, ~7 s; then reused)."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is missing: `make setup` installs qemu-system-x86")
    return build_image(load_settings().cache_dir)
