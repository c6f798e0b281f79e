"""GraphQL filter inputs, turned into the stores' typed filters."""

from __future__ import annotations

from datetime import date

import strawberry

from graph import model, queries


@strawberry.input(description="Every given field must match; omitted fields do not filter.")
class BatchFilter:
    vendor: strawberry.ID | None = strawberry.field(
        default=None, description="Organization id of the maker, e.g. org:birch."
    )
    number: str | None = None
    product: strawberry.ID | None = strawberry.field(
        default=None, description="Product id; matches lots named for it or of a material for it."
    )
    status: model.BatchStatus | None = None
    manufactured_from: date | None = strawberry.field(default=None, description="Inclusive.")
    manufactured_to: date | None = strawberry.field(default=None, description="Inclusive.")

    def to_query(self) -> queries.BatchFilter:
        return queries.BatchFilter(
            vendor=self.vendor,
            number=self.number,
            product=self.product,
            status=self.status,
            manufactured_from=self.manufactured_from,
            manufactured_to=self.manufactured_to,
        )


@strawberry.input
class ProductFilter:
    sponsor: strawberry.ID | None = None

    def to_query(self) -> queries.ProductFilter:
        return queries.ProductFilter(sponsor=self.sponsor)


@strawberry.input
class OrganizationFilter:
    kind: model.OrgKind | None = None

    def to_query(self) -> queries.OrganizationFilter:
        return queries.OrganizationFilter(kind=self.kind)


@strawberry.input
class AgreementFilter:
    sponsor: strawberry.ID | None = None
    vendor: strawberry.ID | None = None
    status: model.AgreementStatus | None = None
    product: strawberry.ID | None = strawberry.field(
        default=None, description="Product id the agreement covers."
    )

    def to_query(self) -> queries.AgreementFilter:
        return queries.AgreementFilter(
            sponsor=self.sponsor, vendor=self.vendor, status=self.status, product=self.product
        )
