"""The check every API token passes before it becomes an ``X-Auth-Token`` header.

It imports nothing, so the CLI's dispatcher (ovnet.cli.main) can catch TokenError without loading
httpx. A token from ``--token``, ``OS_TOKEN``, the admin-token file or a CNI ``token_file`` that
holds a newline or a non-ASCII letter cannot be sent: httpx would raise LocalProtocolError or
UnicodeEncodeError deep inside a request, a traceback for what is a typing mistake.
"""

from __future__ import annotations


class TokenError(ValueError):
    """An API token that cannot be sent as an HTTP header; the message says why, in one line."""


def check_token(token: str) -> str:
    """``token`` unchanged when every character is visible ASCII (0x21-0x7E), as an HTTP field
    value's token characters are (RFC 9110 §5.5: field values are visible ASCII; CR, LF and NUL
    are forbidden, other bytes obsolete) and as every token ovnet issues is. Raises TokenError
    naming the first bad character's position, not the token (it is a secret)."""
    for index, char in enumerate(token):
        if not "\x21" <= char <= "\x7e":
            raise TokenError(f"the API token has {_describe(char)} at position {index + 1}: tokens are "
                             f"printable ASCII; check --token, OS_TOKEN or the token file")
    return token


def _describe(char: str) -> str:
    if char in "\r\n":
        return "a line break"
    if char.isspace():
        return "a blank"
    return "a control character" if char < " " or char == "\x7f" else f"a non-ASCII character (U+{ord(char):04X})"


def checked_option(token: str | None) -> str | None:
    """The callback of every ``--token`` option (OS_TOKEN included): ``token`` checked up front by
    check_token, so a bad one is refused before the command reads or changes anything; None
    (not given) as is."""
    return check_token(token) if token is not None else None
