"""Parameter lists for large writes, with a short ``repr``.

The driver (neo4j 6.4) formats every RUN for its debug log before it knows whether
anything logs at that level: ``" ".join(map(repr, (query, parameters, extra)))``. For
a write's thousands of rows that ``repr`` was about a tenth of the store's own CPU in a
load (6.6 ms for 5,000 node rows, each statement). ``Rows`` is a ``list`` (packed as
one: the packers check ``isinstance``) whose ``repr`` names its length only, which also
keeps written values out of the driver's debug log.
"""

from __future__ import annotations

from typing import Any


class Rows(list[Any]):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"
