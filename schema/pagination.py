"""Relay-style connections over the stores' keyset listings.

A cursor is the opaque, URL-safe encoding of the last id a page returned; the next
page starts after it. Pages never skip or repeat a node, whatever is ingested between
two requests, because ids are unique and the order is by id.
"""

from __future__ import annotations

import binascii
from base64 import urlsafe_b64decode, urlsafe_b64encode
from typing import Generic, TypeVar

import strawberry

from graph.ids import InvalidNodeId, parse_id, shown
from graph.store import NodePage
from schema.context import Limits
from schema.errors import bad_input

CURSOR_PREFIX = "v1:"
NodeT = TypeVar("NodeT")


def encode_cursor(node_id: str) -> str:
    return urlsafe_b64encode((CURSOR_PREFIX + node_id).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        decoded = urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        decoded = ""
    node_id = decoded.removeprefix(CURSOR_PREFIX) if decoded.startswith(CURSOR_PREFIX) else ""
    try:
        parse_id(node_id)
    except InvalidNodeId:
        raise bad_input(
            f"after: {shown(cursor)} is not a cursor from this API "
            "(pass the endCursor or an edge's cursor of the previous page)"
        ) from None
    return node_id


def page_size(first: int | None, limits: Limits) -> int:
    if first is None:
        return limits.default_page_size
    if not 1 <= first <= limits.max_page_size:
        raise bad_input(f"first: must be between 1 and {limits.max_page_size}, got {first}")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo

    @strawberry.field(description="The page's nodes, without cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: NodePage, nodes: list[NodeT], *, after: str | None) -> Connection[NodeT]:
        edges = [
            Edge(cursor=encode_cursor(stored.id), node=node)
            for stored, node in zip(page.nodes, nodes, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
