"""Starting and stopping one QEMU microvm on a tap device, and reading what its console says.

The guest is the image of ``ovnet.testbed.vmimage``: ``-M microvm`` (virtio-mmio, no PCI, no
firmware), TCG when KVM is unusable, the console on ttyS0 written to a log file, one virtio-net NIC
per tap that already exists (``script=no``: ovnet made the tap and put it on br-int). QEMU
daemonizes and writes a pidfile; it is stopped by that pid only.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ovnet.runtime.process import pid_alive, read_pid, stop_pid
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.vmimage import VmImage

QEMU = "qemu-system-x86_64"
MEMORY_MB = 256
# /dev/kvm exists on this kind of machine but KVM guests never run (DESIGN.md facts); TCG always
# works. OVNET_QEMU_ACCEL=kvm opts in where KVM is real.
ACCEL = os.environ.get("OVNET_QEMU_ACCEL", "tcg")
# lpj presets the delay-loop calibration, which under TCG on a loaded host can take tens of
# seconds; the guest's delays only need to be roughly right.
KERNEL_ARGS = "console=ttyS0 panic=-1 lpj=4000000 quiet"


class VmError(Exception):
    """A VM cannot be started, found or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class QemuSpec:
    """One VM's QEMU: ``name`` (guest hostname and echo answer), ``nics`` ((tap, MAC) per NIC, the
    guest's eth0, eth1, ... in order: existing tap devices in network namespace ``netns``, None =
    ours, and their ports' MACs), ``console`` (log path), ``pidfile``; ``compressed`` boots the
    bzImage instead of the extracted vmlinux; ``shell`` is the unix socket of the guest shell
    (ovnet.testbed.guest), None for none."""

    name: str
    nics: tuple[tuple[str, str], ...]
    console: Path
    pidfile: Path
    netns: str | None = None
    compressed: bool = False
    shell: Path | None = None


def _host_tsc_khz() -> int | None:
    # Under TCG the guest reads the host's TSC; telling the guest its rate spares the calibration
    # against a PIT that an overloaded host cannot emulate in time.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    except (OSError, ValueError):
        pass
    return None


def qemu_argv(image: VmImage, spec: QemuSpec) -> list[str]:
    """The QEMU command line for ``spec`` booting ``image`` (daemonized, pidfile, no display)."""
    tsc = _host_tsc_khz()
    append = f"{KERNEL_ARGS} ovnet.name={spec.name} ovnet.nics={len(spec.nics)}"
    append += f" tsc_early_khz={tsc}" if tsc else ""
    argv = [
        QEMU, "-M", "microvm", "-accel", ACCEL, "-m", str(MEMORY_MB), "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", f"file:{spec.console}",
        "-kernel", str(image.kernel_compressed if spec.compressed else image.kernel),
        "-initrd", str(image.initrd), "-append", append,
        "-pidfile", str(spec.pidfile), "-daemonize",
    ]
    for i, (tap, mac) in enumerate(spec.nics):
        # vnet_hdr=off: the userspace datapath does not fill virtio-net headers (DESIGN.md facts).
        argv += ["-netdev", f"tap,id=net{i},ifname={tap},script=no,downscript=no,vnet_hdr=off",
                 "-device", f"virtio-net-device,netdev=net{i},mac={mac}"]
    if spec.shell:
        argv += ["-device", "virtio-serial-device",
                 "-chardev", f"socket,id=shell,path={spec.shell},server=on,wait=off",
                 "-device", "virtconsole,chardev=shell"]
    return ["nsenter", f"--net=/run/netns/{spec.netns}", *argv] if spec.netns else argv


def start(image: VmImage, spec: QemuSpec) -> int:
    """Start the VM; return QEMU's pid once it runs. Raises VmError with QEMU's own message."""
    spec.console.parent.mkdir(parents=True, exist_ok=True)
    spec.pidfile.parent.mkdir(parents=True, exist_ok=True)
    if spec.shell:
        spec.shell.parent.mkdir(parents=True, exist_ok=True)
    spec.console.write_text("")
    done = subprocess.run(qemu_argv(image, spec), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
    pid = read_pid(spec.pidfile)
    if done.returncode != 0 or not pid_alive(pid):
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise VmError(f"QEMU did not start VM {spec.name}: {detail[-1] if detail else f'exit {done.returncode}'}")
    return pid


def stop(pidfile: Path, shell: Path | None = None) -> bool:
    """Stop the QEMU whose pid is in ``pidfile``; remove the pidfile and the ``shell`` socket.
    True if one was running."""
    pid = read_pid(pidfile)
    running = pid_alive(pid)
    if running:
        stop_pid(pid)
    pidfile.unlink(missing_ok=True)
    if shell:
        shell.unlink(missing_ok=True)
    return running


def wait_console(console: Path, prefix: str, timeout: float, since: int = 0, suffix: str = "") -> str | None:
    """The first console line starting with ``prefix`` and ending with ``suffix`` (after byte
    ``since``), waiting up to ``timeout`` s; None if it did not appear."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = console.read_bytes()[since:].decode(errors="replace")
        except FileNotFoundError:
            text = ""
        # only whole lines: QEMU may be half-way through writing the last one
        for line in text[:text.rfind("\n") + 1].splitlines():
            if line.startswith(prefix) and line.endswith(suffix):
                return line
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def parse_lease(line: str) -> dict[str, str]:
    """The key=value fields of a lease line from the console (ip, mask, router, mtu, dns, routes)."""
    body = line.removeprefix(LINE_LEASE)
    return dict(re.findall(r"(\w+)=(\S*)", body))
