"""Kernel module dependencies without depmod: read each module's ``.modinfo`` ELF section and order
a set of modules so that every module comes after the modules it depends on (insmod order)."""

from __future__ import annotations

import struct
from pathlib import Path


class ModuleError(Exception):
    """A module is missing or is not a readable ELF64 kernel module."""


def modinfo(ko: bytes) -> dict[str, list[str]]:
    """The ``key=value`` strings of a module's ``.modinfo`` section, as key -> values.

    Reads the ELF64 little-endian section headers (System V gABI: ``e_shoff`` at 0x28,
    ``e_shentsize``/``e_shnum``/``e_shstrndx`` at 0x3a; per header ``sh_name`` at 0, ``sh_offset``
    at 0x18, ``sh_size`` at 0x20). Raises ModuleError when that is not what ``ko`` holds.
    """
    if ko[:5] != b"\x7fELF\x02" or ko[5] != 1:
        raise ModuleError("not an ELF64 little-endian file")
    (shoff,) = struct.unpack_from("<Q", ko, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ko, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        base = shoff + index * shentsize
        (name,) = struct.unpack_from("<I", ko, base)
        offset, size = struct.unpack_from("<QQ", ko, base + 0x18)
        return name, offset, size

    _, names_at, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        if ko[names_at + name:ko.index(b"\0", names_at + name)] == b".modinfo":
            info: dict[str, list[str]] = {}
            for item in ko[offset:offset + size].split(b"\0"):
                key, sep, value = item.decode(errors="replace").partition("=")
                if sep:
                    info.setdefault(key, []).append(value)
            return info
    raise ModuleError("no .modinfo section")


def _canonical(name: str) -> str:
    return name.replace("-", "_")  # the kernel treats - and _ in module names alike


def module_order(modules_dir: Path, wanted: tuple[str, ...]) -> list[tuple[str, Path]]:
    """``wanted`` and everything they depend on, as (module name, .ko path) in insmod order.

    ``modules_dir`` is ``lib/modules/<release>`` of an unpacked kernel package. Raises ModuleError
    when a module (wanted or depended on) has no .ko file there.
    """
    files = {_canonical(path.name.removesuffix(".ko")): path for path in modules_dir.rglob("*.ko")}
    order: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = _canonical(name)
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            raise ModuleError(f"module {name} not found under {modules_dir}")
        depends = modinfo(files[name].read_bytes()).get("depends", [""])[0]
        for dependency in filter(None, depends.split(",")):
            visit(dependency)
        order.append((name, files[name]))

    for name in wanted:
        visit(name)
    return order
