"""The tag API of every resource with standard attributes (Neutron "standard-attr-tag" extension).

A tag change is an update: it bumps revision_number and writes an outbox row.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ovnet.model import attributes
from ovnet.model.common import bump, get_owned, get_visible, record_update
from ovnet.model.errors import NotFound
from ovnet.model.schema import SecurityGroupRule
from ovnet.model.tenancy import Context


def _store(session: Session, row, tags: list[str]) -> None:
    if list(row.tags) != tags:
        row.tags = tags
        if isinstance(row, SecurityGroupRule):
            # A rule's OVN rows are its group's, and tags reach no OVN row: nothing to sync (as a
            # rule's description change), and the outbox knows rules by their group only.
            bump(row)
        else:
            record_update(session, row)


def get_tags(session: Session, ctx: Context, model: type, resource_id: str) -> list[str]:
    """The tags of a visible resource (NotFound otherwise)."""
    return list(get_visible(session, ctx, model, resource_id).tags)


def replace_tags(session: Session, ctx: Context, model: type, resource_id: str, tags: object) -> list[str]:
    """Replace all tags with ``tags`` (a list of 1-60 character strings); return them."""
    checked = attributes.TAGS("tags", tags)
    row = get_owned(session, ctx, model, resource_id, "update_tags")
    _store(session, row, checked)
    return checked


def add_tag(session: Session, ctx: Context, model: type, resource_id: str, tag: str) -> None:
    """Add one tag (no-op when present)."""
    checked = attributes.tag("tags", tag)
    row = get_owned(session, ctx, model, resource_id, "update_tags")
    if checked not in row.tags:
        _store(session, row, attributes.TAGS("tags", [*row.tags, checked]))


def remove_tag(session: Session, ctx: Context, model: type, resource_id: str, tag: str | None) -> None:
    """Remove one tag (NotFound TagNotFound when absent), or all tags when ``tag`` is None."""
    row = get_owned(session, ctx, model, resource_id, "update_tags")
    if tag is not None and tag not in row.tags:
        raise NotFound(f"Tag {tag} could not be found for {resource_id}.", "TagNotFound")
    _store(session, row, [] if tag is None else [t for t in row.tags if t != tag])
