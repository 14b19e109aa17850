"""The VM image: built from Debian's kernel and busybox-static, idempotent, and it boots in QEMU."""

from __future__ import annotations

import subprocess
import time

import pytest

from ovnet.testbed import cpio, qemu
from ovnet.testbed.initscript import LINE_INIT, LINE_READY
from ovnet.testbed.kmod import modinfo
from ovnet.testbed.vmimage import build_image, current_image, load_image, VmImageError


def test_cpio_archive_lists_with_busybox_cpio(tmp_path):
    archive = cpio.Archive()
    archive.directory("etc")
    archive.file("etc/name", b"vm-a\n")
    archive.symlink("etc/link", "name")
    archive.char_device("console", 5, 1)
    data = archive.finish()
    listing = subprocess.run(["busybox", "cpio", "-t", "-v"], input=data, capture_output=True, check=True)
    lines = listing.stdout.decode().splitlines()
    assert [line.split()[-1] for line in lines] == ["etc", "etc/name", "name", "console"]
    assert lines[2].startswith("l") and "etc/link -> name" in lines[2]
    assert lines[3].startswith("c")
    subprocess.run(["busybox", "cpio", "-i", "-d"], input=data, cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "etc/name").read_bytes() == b"vm-a\n"


def test_modinfo_rejects_non_elf():
    with pytest.raises(Exception, match="not an ELF64"):
        modinfo(b"#!/bin/sh\n")


def test_load_image_missing_is_a_clear_error(tmp_path):
    with pytest.raises(VmImageError, match="no VM image at .*ovnet vm build"):
        load_image(tmp_path / "nothing")


@pytest.mark.qemu
def test_image_is_debian_kernel_with_virtio_modules(vm_image, tmp_path):
    assert vm_image.version.startswith("linux-image-")
    assert vm_image.kernel.read_bytes()[:4] == b"\x7fELF"
    listing = subprocess.run(["busybox", "cpio", "-t"], stdin=vm_image.initrd.open("rb"), capture_output=True,
                             check=True).stdout.decode().split()
    order = [n.removeprefix("lib/modules/").removesuffix(".ko") for n in listing if n.endswith(".ko")]
    # every module after what it depends on
    for index, name in enumerate(order):
        ko = vm_image.initrd.parent / "modules" / f"{name}.ko"
        depends = [d for d in modinfo(ko.read_bytes()).get("depends", [""])[0].split(",") if d]
        assert all(order.index(d.replace("-", "_")) < index for d in depends), (name, depends, order)
    assert {"virtio_mmio", "virtio_net", "virtio_console"} <= set(order)
    assert {"init", "bin/busybox", "dev/console"} <= set(listing)


@pytest.mark.qemu
def test_build_is_idempotent_and_fast_when_cached(vm_image):
    cache = vm_image.kernel.parent.parent.parent
    kernel_mtime = vm_image.kernel.stat().st_mtime_ns
    started = time.monotonic()
    again = build_image(cache)
    elapsed = time.monotonic() - started
    assert again == vm_image == current_image(cache)
    assert vm_image.kernel.stat().st_mtime_ns == kernel_mtime  # not re-extracted
    print(f"cached build: {elapsed:.2f} s")


@pytest.mark.root
@pytest.mark.qemu
@pytest.mark.parametrize("compressed", [False, True], ids=["vmlinux", "bzImage"])
def test_vm_boots_to_its_init(vm_image, lone_tap, tmp_path, compressed):
    ns, tap = lone_tap
    spec = qemu.QemuSpec(name="vm-boot", nics=((tap, "52:54:00:aa:bb:01"),), console=tmp_path / "console.log",
                         pidfile=tmp_path / "qemu.pid", netns=ns, compressed=compressed)
    started = time.monotonic()
    qemu.start(vm_image, spec)
    try:
        init = qemu.wait_console(spec.console, LINE_INIT, timeout=120)
        booted = time.monotonic() - started
        ready = qemu.wait_console(spec.console, LINE_READY, timeout=30)
        assert init == f"{LINE_INIT} name=vm-boot", spec.console.read_text()[-2000:]
        assert ready == f"{LINE_READY} echo=tcp/7", spec.console.read_text()[-2000:]
        print(f"{'bzImage' if compressed else 'vmlinux'}: QEMU start to /init {booted:.2f} s")
    finally:
        assert qemu.stop(spec.pidfile)
    assert not spec.pidfile.exists()
