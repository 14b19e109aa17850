"""Name or id, as the openstack CLI takes them: ``resolve(api, "ports", "p10")`` is the id of the
one port the caller sees whose id or name is "p10". An id wins over a name (Neutron ids are
UUIDs, names are free text); no match is NoMatch, several ports of that name are Ambiguous,
which lists the candidates so the user can pick an id.
"""

from __future__ import annotations

from ovnet.apiclient import ApiClient, ApiError, is_uuid

SINGULAR = {"ports": "port", "networks": "network", "subnets": "subnet"}


class NoMatch(Exception):
    """Nothing the caller sees has this id or name."""


class Ambiguous(Exception):
    """Several resources have this name; ``candidates`` are their one-line descriptions."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


def _describe(item: dict) -> str:
    where = f"network {item['network_id']}" if "network_id" in item else ""
    ips = ", ".join(f["ip_address"] for f in item.get("fixed_ips", []))
    return " ".join(x for x in (item["id"], f"({ips})" if ips else "", where, f"project {item.get('project_id')}") if x)


def resolve(api: ApiClient, plural: str, value: str) -> str:
    """The id of the ``plural`` resource ("ports", "networks", "subnets") with id or name ``value``,
    as the caller of ``api`` sees it. Raises NoMatch, Ambiguous; ApiError for other API errors."""
    singular = SINGULAR[plural]
    if is_uuid(value):
        try:
            return api.show(singular, plural, value)["id"]
        except ApiError as exc:
            if exc.status != 404:
                raise
    named = api.list(plural, name=value)
    if len(named) == 1:
        return named[0]["id"]
    if not named:
        # Neutron's own words for it, so a script sees the same error by name as by id.
        raise NoMatch(f"{singular.capitalize()}NotFound: {singular.capitalize()} {value} could not be found "
                      "(no id or name matches among what this token sees).")
    raise Ambiguous(f"{len(named)} {plural} are named {value!r}; give one of their ids:",
                    [_describe(item) for item in named])


def resolve_or_exit(api: ApiClient, plural: str, value: str) -> str:
    """``resolve`` for a command: NoMatch becomes Neutron's NotFound message on stderr and exit
    status 1 (as any API error); Ambiguous a message with the candidates, one a line, and exit 2."""
    import typer

    try:
        return resolve(api, plural, value)
    except NoMatch as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except Ambiguous as exc:
        typer.echo(f"error: {exc}", err=True)
        for line in exc.candidates:
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(2)
