"""A writer of cpio archives in the "newc" format, the format the Linux kernel unpacks as an
initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).

Entries are written with uid/gid 0 and mtime 0, so the same content always gives the same bytes.
"""

from __future__ import annotations

import stat

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


class Archive:
    """An in-memory newc archive: add entries (paths relative to the root, no leading slash), then
    ``finish()`` returns the bytes. Parent directories must be added before their entries."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = (self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = MAGIC + b"".join(b"%08X" % value for value in fields)
        self._parts += [header, encoded, _pad4(len(header) + len(encoded)), data, _pad4(len(data))]
        self._ino += 1

    def directory(self, name: str, perm: int = 0o755) -> None:
        """Add directory ``name``."""
        self._entry(name, stat.S_IFDIR | perm)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        """Add regular file ``name`` holding ``data``."""
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name: str, target: str) -> None:
        """Add symbolic link ``name`` -> ``target``."""
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, perm: int = 0o600) -> None:
        """Add character device node ``name`` (major, minor)."""
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self) -> bytes:
        """The archive's bytes, closed by the trailer entry."""
        self._entry(TRAILER, 0)
        return b"".join(self._parts)
