"""The test VM image: Debian's kernel plus a busybox initramfs that takes its address by DHCP and
answers a TCP echo with the VM's own name.

Built from Debian packages only: the kernel package that ``linux-image-amd64`` depends on (fetched
with ``apt-get download``, unpacked with ``dpkg-deb -x``) and ``/bin/busybox`` of busybox-static.
The kernel's bzImage payload is decompressed to an ELF ``vmlinux``: QEMU's microvm boots it through
its PVH entry point without the in-guest decompressor, which under TCG saves seconds per boot.

The image lives in ``<cache_dir>/vm/<kernel package>_<version>/`` and is described by its
``image.json``; ``<cache_dir>/vm/current.json`` names the one built last. Building is idempotent:
an image whose files exist is reused without touching apt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import lzma
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ovnet.testbed import cpio, initscript
from ovnet.testbed.kmod import module_order

KERNEL_META_PACKAGE = "linux-image-amd64"
BUSYBOX = Path("/bin/busybox")  # statically linked, from busybox-static
# virtio_mmio finds microvm's devices (described by ACPI); virtio_net drives the NIC,
# virtio_console the guest shell's port (ovnet.testbed.guest). Their dependencies (virtio,
# virtio_ring, failover, net_failover) are resolved from the modules.
GUEST_MODULES = ("virtio_mmio", "virtio_net", "virtio_console")
ECHO_PORT = 7  # TCP port of the guest's echo service (RFC 862's echo port)


class VmImageError(Exception):
    """The VM image cannot be built or found; the message names what is missing and the fix."""


@dataclass(frozen=True)
class VmImage:
    """A bootable image: ``kernel`` (ELF vmlinux), ``kernel_compressed`` (the package's bzImage),
    ``initrd`` (uncompressed cpio newc), ``version`` (kernel package and Debian version)."""

    kernel: Path
    kernel_compressed: Path
    initrd: Path
    version: str

    def missing(self) -> list[Path]:
        """The files of this image that do not exist."""
        return [p for p in (self.kernel, self.kernel_compressed, self.initrd) if not p.is_file()]


def image_root(cache_dir: Path) -> Path:
    """Directory that holds every built VM image under ``cache_dir``."""
    return Path(cache_dir) / "vm"


def load_image(path: Path) -> VmImage:
    """The image described by ``path`` (an image.json, or a directory holding one).

    Raises VmImageError when the description or any file it names is missing.
    """
    path = Path(path)
    manifest = path / "image.json" if path.is_dir() else path
    try:
        data = json.loads(manifest.read_text())
        image = VmImage(**{k: Path(v) if k != "version" else v for k, v in data.items()})
    except (OSError, ValueError, TypeError) as exc:
        raise VmImageError(f"no VM image at {path} ({exc.__class__.__name__}); build one with `ovnet vm build`") from None
    if image.missing():
        raise VmImageError(f"VM image {manifest} is incomplete: {', '.join(map(str, image.missing()))} missing; "
                           f"rebuild it with `ovnet vm build`")
    return image


def current_image(cache_dir: Path) -> VmImage:
    """The image built last under ``cache_dir``; raises VmImageError when none was built."""
    return load_image(image_root(cache_dir) / "current.json")


def build_image(cache_dir: Path) -> VmImage:
    """Build (or reuse) the VM image under ``cache_dir`` and make it the current one.

    The kernel is the version ``linux-image-amd64`` depends on. Concurrent builders of the same
    cache are serialised by a lock file. Raises VmImageError when apt cannot resolve or fetch the
    kernel or busybox-static is not installed.
    """
    root = image_root(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    package, version = _kernel_package()
    home = root / f"{package}_{version}"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _unpacked_modules(home) != list(GUEST_MODULES):
            _unpack_kernel(package, home)
        kernel = json.loads((home / "kernel.json").read_text())
        initrd = _write_initrd(home, kernel["modules"])
        image = VmImage(kernel=home / "vmlinux", kernel_compressed=home / "vmlinuz", initrd=initrd,
                        version=f"{package} {version}")
        description = json.dumps({k: str(v) for k, v in asdict(image).items()}, indent=1) + "\n"
        _write_atomic(home / "image.json", description.encode())
        _write_atomic(root / "current.json", description.encode())
    return load_image(home)


def _apt(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise VmImageError(f"`{' '.join(argv)}` failed: {detail[-1] if detail else done.returncode}; "
                           f"is `apt-get update` done?")
    return done.stdout


def _kernel_package() -> tuple[str, str]:
    """(package, version) of the kernel that ``linux-image-amd64`` pins with ``Depends: P (= V)``."""
    for line in _apt("apt-cache", "show", "--no-all-versions", KERNEL_META_PACKAGE).splitlines():
        if line.startswith("Depends: "):
            match = re.search(r"(linux-image-\S+) \(= ([^)]+)\)", line)
            if match:
                return match.group(1), match.group(2)
    raise VmImageError(f"{KERNEL_META_PACKAGE} pins no linux-image package version")


def _unpacked_modules(home: Path) -> list[str] | None:
    """The GUEST_MODULES an unpacked kernel in ``home`` was made for (None: not unpacked)."""
    try:
        return json.loads((home / "kernel.json").read_text()).get("wanted")
    except (OSError, ValueError):
        return None


def _unpack_kernel(package: str, home: Path) -> None:
    """Download and unpack ``package``; keep vmlinuz, vmlinux and the guest modules in ``home``."""
    with tempfile.TemporaryDirectory(prefix="ovnet-kernel-") as tmp:
        work = Path(tmp)
        # apt drops to the _apt user for downloads, who cannot write into a private temp dir.
        _apt("apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", package, cwd=work)
        deb = next(work.glob("*.deb"))
        tree = work / "tree"
        _apt("dpkg-deb", "-x", str(deb), str(tree))
        vmlinuz = next((tree / "boot").glob("vmlinuz-*"))
        release = vmlinuz.name.removeprefix("vmlinuz-")
        modules = module_order(tree / "lib" / "modules" / release, GUEST_MODULES)
        staging = home.with_name(home.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "modules").mkdir(parents=True)
        shutil.copyfile(vmlinuz, staging / "vmlinuz")
        (staging / "vmlinux").write_bytes(extract_vmlinux(vmlinuz.read_bytes()))
        for name, path in modules:
            shutil.copyfile(path, staging / "modules" / f"{name}.ko")
        meta = {"release": release, "wanted": list(GUEST_MODULES), "modules": [name for name, _ in modules]}
        (staging / "kernel.json").write_text(json.dumps(meta, indent=1) + "\n")
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF kernel inside an x86 bzImage.

    The payload's place comes from the setup header (Linux boot protocol 2.08+, ``setup_sects`` at
    0x1f1, ``payload_offset``/``payload_length`` at 0x248, relative to the protected-mode code at
    ``(setup_sects + 1) * 512``). Only xz payloads (Debian's choice, CONFIG_KERNEL_XZ) are supported;
    raises VmImageError for anything else.
    """
    if bzimage[0x202:0x206] != b"HdrS":
        raise VmImageError("not a bzImage (no HdrS setup header)")
    setup_sects = bzimage[0x1F1] or 4  # 0 means 4 (boot protocol)
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = bzimage[start:start + length]
    if not payload.startswith(b"\xfd7zXZ\x00"):
        raise VmImageError(f"unsupported kernel compression (payload starts {payload[:6].hex()})")
    # The payload ends with 4 bytes of decompressed size, after the xz stream; the decompressor
    # stops at the stream's end.
    kernel = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if not kernel.startswith(b"\x7fELF"):
        raise VmImageError("the decompressed bzImage payload is not an ELF file")
    return kernel


def _write_initrd(home: Path, modules: list[str]) -> Path:
    """Write the initramfs for ``modules`` (insmod order) unless an identical one exists; an
    initramfs of an earlier recipe is deleted."""
    if not BUSYBOX.is_file():
        raise VmImageError(f"{BUSYBOX} is missing; install the Debian package busybox-static")
    archive = cpio.Archive()
    for directory in ("bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", "tmp", "run"):
        archive.directory(directory)
    archive.char_device("dev/console", 5, 1)  # the kernel opens it for init's stdio before devtmpfs
    archive.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    archive.symlink("bin/sh", "busybox")
    archive.file("init", initscript.init_script(ECHO_PORT).encode(), 0o755)
    archive.file("etc/udhcpc.sh", initscript.UDHCPC_SCRIPT.encode(), 0o755)
    archive.file("etc/echo.sh", initscript.ECHO_SCRIPT.encode(), 0o755)
    archive.file("etc/probe.sh", initscript.PROBE_SCRIPT.encode(), 0o755)
    for name in modules:
        archive.file(f"lib/modules/{name}.ko", (home / "modules" / f"{name}.ko").read_bytes(), 0o644)
    archive.file("lib/modules/order", "".join(f"{m}\n" for m in modules).encode(), 0o644)
    data = archive.finish()
    path = home / f"initrd-{hashlib.sha256(data).hexdigest()[:12]}.cpio"
    if not path.is_file():
        _write_atomic(path, data)
        for older in home.glob("initrd-*.cpio"):
            if older != path:  # a running QEMU read its initrd at start; none needs the file
                older.unlink()
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
