"""Errors of the host side (plugging, binding, agent). Each carries the Neutron fault ``type`` name
and the HTTP status the agent's socket answers with, so every edge can map it to its own format."""

from __future__ import annotations


class HostError(Exception):
    """Base: ``message`` for humans, ``type`` a Neutron fault name, ``status`` an HTTP status."""

    status = 500
    default_type = "HostError"

    def __init__(self, message: str, type: str | None = None):
        super().__init__(message)
        self.message = message
        self.type = type or self.default_type


class NotAuthorized(HostError):
    """The request carries no X-Auth-Token (every agent request but GET /healthz needs one)."""

    status = 401
    default_type = "NotAuthorized"


class BadRequest(HostError):
    """The request names an impossible VIF (bad interface name, unknown VIF kind, missing netns)."""

    status = 400
    default_type = "InvalidInput"


class NotFound(HostError):
    """The port does not exist or is not visible to the caller's token (Neutron hides other projects')."""

    status = 404
    default_type = "PortNotFound"


class Conflict(HostError):
    """The port is bound to another host, or a device name is taken."""

    status = 409
    default_type = "PortBindingConflict"


class BindTimeout(HostError):
    """ovn-controller did not mark the interface ovn-installed within settings.bind_timeout seconds."""

    status = 504
    default_type = "PortBindingTimeout"


class Forbidden(HostError):
    """The caller's token is valid but not the admin's, and the request is for the admin only."""

    status = 403
    default_type = "PolicyNotAuthorized"
