"""Reading request bodies: a size limit and a nesting limit before parsing, JSON objects only."""

from __future__ import annotations

import json
import re

from fastapi import Request
from starlette.exceptions import HTTPException

from ovnet.model.errors import BadRequest

DEFAULT_MAX_BODY = 1 << 20  # bytes; a bulk create of a few thousand ports fits
# No Neutron body nests deeper than a handful of levels (port -> allowed_address_pairs -> pair);
# refusing deeper ones before json.loads keeps its recursion (and ours, when serialising) bounded.
MAX_DEPTH = 32
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# A \uD800-\uDFFF escape may stand for half of a valid pair or for a lone surrogate; only bodies
# holding one pay for the full check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def unwrap(data: dict, key: str, shape: str = "{...}") -> object:
    """``data[key]`` when ``key`` is the body's only key (Neutron wraps each body in its resource
    name: {"network": {...}}, {"tags": [...]}); BadRequest naming the expected body otherwise."""
    if set(data) != {key}:
        raise BadRequest(f"Resource body required: {{\"{key}\": {shape}}}", "HTTPBadRequest", key)
    return data[key]


async def read_json(request: Request, max_bytes: int) -> dict:
    """The request body parsed as a JSON object.

    HTTPException 413 when the body exceeds ``max_bytes`` (checked on Content-Length and while
    reading); BadRequest when it nests deeper than MAX_DEPTH, is not valid JSON or not an object.
    """
    return parse_json(await read_body(request, max_bytes), max_bytes)


async def read_body(request: Request, max_bytes: int) -> bytes | None:
    """The request body's bytes, or None when it exceeds ``max_bytes`` (by Content-Length, or
    while reading: no more is read then). ``parse_json`` judges them later, so that a handler may
    authenticate in between and answer 401 before 413 or 400."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes | None, max_bytes: int) -> dict:
    """``body`` (``read_body``'s answer) as a JSON object, with the errors of ``read_json``."""
    if body is None:
        raise _too_large(max_bytes)
    raw = body or b"null"
    try:
        text = raw.decode(json.detect_encoding(raw))
        check_depth(text)
        data = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):
            check_unicode(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed request body: {exc}", "HTTPBadRequest", "body") from None
    if not isinstance(data, dict):
        raise BadRequest("Malformed request body: expected a JSON object", "HTTPBadRequest", "body")
    return data


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """ValueError when the JSON ``text`` nests objects/arrays more than ``limit`` levels deep.

    Brackets inside strings do not count. Linear in len(text), no recursion.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            raise ValueError(f"JSON nested deeper than {limit} levels")


def check_unicode(data: object) -> None:
    """ValueError when a string (key or value) in parsed JSON ``data`` holds a lone UTF-16
    surrogate, which no store or response can encode (RFC 8259 §8.2: such text is not Unicode),
    or a NUL, which OVSDB refuses in every string (RFC 7047) and so could never reach OVN."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone UTF-16 surrogate, which is not valid Unicode") from None
    if _holds_nul(data):
        raise ValueError("a string holds a NUL character (\\u0000), which OVN cannot store")


def _holds_nul(data: object) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(v) for v in data)
    return False


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"Request body is larger than the limit of {max_bytes} bytes")
