"""Reading request bodies: a size limit before parsing, JSON objects only."""

from __future__ import annotations

import json

from fastapi import Request

from ovnet.model.errors import BadRequest

DEFAULT_MAX_BODY = 1 << 20  # bytes; a bulk create of a few thousand ports fits


async def read_json(request: Request, max_bytes: int) -> dict:
    """The request body parsed as a JSON object.

    BadRequest when the body exceeds ``max_bytes`` (checked on Content-Length and while reading),
    is not valid JSON, or is not an object.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed request body: {exc}", "HTTPBadRequest", "body") from None
    if not isinstance(data, dict):
        raise BadRequest("Malformed request body: expected a JSON object", "HTTPBadRequest", "body")
    return data


def _too_large(max_bytes: int) -> BadRequest:
    return BadRequest(f"Request body is larger than the limit of {max_bytes} bytes", "RequestBodyTooLarge", "body")
