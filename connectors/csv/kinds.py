"""Every record kind a CSV profile can make: its spec model and its builder.

The lot kinds (``fields``, ``records``) and the partnership lifecycle's
(``lifecycle_fields``, ``lifecycle_records``) meet here, so that each of those modules
keeps one family and a profile's ``kind`` finds both its fields and its builder.
"""

from __future__ import annotations

from connectors.csv.fields import LOT_KINDS, LotRecords
from connectors.csv.lifecycle_fields import LIFECYCLE_KINDS, LifecycleRecords
from connectors.csv.lifecycle_records import LIFECYCLE_BUILDERS
from connectors.csv.records import LOT_BUILDERS, Builder

AnyRecords = LotRecords | LifecycleRecords
RECORD_KINDS = LOT_KINDS + LIFECYCLE_KINDS
BUILDERS: dict[str, Builder] = {**LOT_BUILDERS, **LIFECYCLE_BUILDERS}
