"""The model's enumerations, exposed to GraphQL under the same names and values."""

from __future__ import annotations

import strawberry

from graph import model
from graph.lineage import Direction

for enumeration in (
    model.OrgKind,
    model.BatchStatus,
    model.AgreementStatus,
    model.Activity,
    model.QualificationStatus,
    model.Verdict,
    model.DeviationClass,
    model.DeviationStatus,
    model.EdgeKind,
    Direction,
):
    # strawberry.enum registers the class itself, so resolvers hand back model values as they are.
    strawberry.enum(enumeration)
