"""The one exception family of the model; each edge maps it to its client's wire format.

Every error carries a human ``message`` and a ``type`` named as Neutron names its exceptions
(Neutron API v2.0 "Faults": e.g. ``NetworkNotFound``, ``IpAddressAlreadyAllocated``). The class says
which kind of failure it is (bad input, not authenticated, forbidden, missing, conflicting); the
model knows no HTTP status codes.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base of every error the model raises on purpose.

    ``message``: one sentence for a human. ``type``: the Neutron exception name a client may branch
    on. ``field``: the attribute at fault, when one is (bad input names the field).
    """

    default_type = "NeutronException"

    def __init__(self, message: str, type: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.type = type or self.default_type
        self.field = field


class BadRequest(ModelError):
    """The request is malformed or invalid; nothing was written."""

    default_type = "HTTPBadRequest"


class NotAuthorized(ModelError):
    """No credentials, or credentials that match no token."""

    default_type = "NotAuthorized"


class Forbidden(ModelError):
    """The caller is known but its role does not allow this operation."""

    default_type = "PolicyNotAuthorized"


class NotFound(ModelError):
    """The resource does not exist or is not visible to the caller's project."""

    default_type = "NotFound"


class Conflict(ModelError):
    """The request contradicts the current state (address taken, resource in use, ...)."""

    default_type = "Conflict"


class PreconditionFailed(ModelError):
    """A condition the request set on the current state (If-Match on revision_number) does not hold."""

    default_type = "PreconditionFailed"


def invalid_input(field: str, reason: str) -> BadRequest:
    """The Neutron wording for an attribute that failed validation, naming ``field``."""
    return BadRequest(f"Invalid input for {field}. Reason: {reason}", "HTTPBadRequest", field)
