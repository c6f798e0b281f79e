"""The partner directory, the same on both stores: which organizations and sites each
partner of the demo story lists (``graph.directory``).

Oakridge, the second sponsor, shares only Birch (its CMO) and Dogwood (whose excipient
went into its lot) with Northwind: it must not enumerate Northwind's other vendors.
"""

from __future__ import annotations

from datetime import date

from graph.directory import Directory
from graph.ids import NodeKind
from graph.model import Activity, AgreementStatus, QualityAgreement
from graph.queries import Equals
from graph.store import GraphStore
from graph.visibility import EVERYTHING, Visibility
from tests.graph.builders import PROVENANCE
from tests.graph.test_visibility_contract import ORGS, listed

EVERY_ORG = [f"org:{org}" for org in sorted(ORGS)]
EVERY_SITE = [
    "site:alder/HYD-1",
    "site:birch/CRK-1",
    "site:cedar/NJ-2",
    "site:dogwood/LU-1",
    "site:elm/GAL-1",
]


async def test_a_second_sponsor_lists_only_the_organizations_it_is_related_to(
    demo_store: GraphStore,
) -> None:
    oakridge = Visibility.for_org("oakridge")

    assert await listed(demo_store, NodeKind.ORGANIZATION, oakridge) == [
        "org:birch",  # party to its agreement, maker of its lots
        "org:dogwood",  # maker of the excipient lot in its tablets
        "org:oakridge",  # itself
    ]
    assert await listed(demo_store, NodeKind.SITE, oakridge) == [
        "site:birch/CRK-1",
        "site:dogwood/LU-1",
    ]
    # Northwind and its other vendors answer as if they did not exist.
    hidden = ["org:northwind", "org:alder", "org:cedar", "org:elm", "site:alder/HYD-1"]
    assert await demo_store.get_nodes(hidden, visibility=oakridge) == {}
    by_name = await demo_store.list_nodes(
        NodeKind.ORGANIZATION, [Equals("name", "Alder Lifesciences")], 10, None, visibility=oakridge
    )
    assert by_name.nodes == ()


async def test_a_cmo_lists_its_sponsors_and_the_lab_that_tests_its_lots(
    demo_store: GraphStore,
) -> None:
    birch = Visibility.for_org("birch")
    assert await listed(demo_store, NodeKind.ORGANIZATION, birch) == [
        "org:birch",
        "org:elm",  # its results on Birch's lots
        "org:northwind",
        "org:oakridge",
    ]
    # A supplier with no agreement lists the sponsor whose product it is for, no one else.
    assert await listed(demo_store, NodeKind.ORGANIZATION, Visibility.for_org("alder")) == [
        "org:alder",
        "org:northwind",
    ]
    # A distributor only received lots: it reads none, and lists itself.
    assert await listed(demo_store, NodeKind.ORGANIZATION, Visibility.for_org("maple")) == [
        "org:maple"
    ]
    assert await listed(demo_store, NodeKind.SITE, Visibility.for_org("maple")) == []


async def test_the_operator_and_a_published_directory_list_everyone(
    demo_store: GraphStore,
) -> None:
    assert await listed(demo_store, NodeKind.ORGANIZATION, EVERYTHING) == EVERY_ORG
    assert await listed(demo_store, NodeKind.SITE, EVERYTHING) == EVERY_SITE
    for org in ORGS:
        published = Visibility.for_org(org, Directory.PUBLISHED)
        assert await listed(demo_store, NodeKind.ORGANIZATION, published) == EVERY_ORG, org
        assert await listed(demo_store, NodeKind.SITE, published) == EVERY_SITE, org
    # What is not directory data stays scoped, published or not.
    published = Visibility.for_org("oakridge", Directory.PUBLISHED)
    assert await listed(demo_store, NodeKind.QUALITY_AGREEMENT, published) == [
        "agreement:oakridge/QA-OK-BIR/1"
    ]


async def test_inspections_stay_public_record_without_opening_the_directory(
    demo_store: GraphStore,
) -> None:
    oakridge = Visibility.for_org("oakridge")
    inspections = await listed(demo_store, NodeKind.INSPECTION, oakridge)
    assert inspections == await listed(demo_store, NodeKind.INSPECTION)
    assert any(inspection.startswith("inspection:alder/") for inspection in inspections)
    assert "org:alder" not in await listed(demo_store, NodeKind.ORGANIZATION, oakridge)


async def test_a_new_agreement_relates_both_parties_at_once(demo_store: GraphStore) -> None:
    oakridge, cedar = Visibility.for_org("oakridge"), Visibility.for_org("cedar")
    assert "org:cedar" not in await listed(demo_store, NodeKind.ORGANIZATION, oakridge)
    await demo_store.upsert(
        [
            QualityAgreement(
                agreement_id="QA-OK-CED",
                version="1",
                sponsor="oakridge",
                vendor="cedar",
                product_ids=(),
                site_ids=(),
                activities=(Activity.PACKAGING,),
                effective_from=date(2025, 1, 1),
                effective_to=None,
                status=AgreementStatus.EFFECTIVE,
                provenance=PROVENANCE,
            )
        ]
    )
    assert "org:cedar" in await listed(demo_store, NodeKind.ORGANIZATION, oakridge)
    assert "site:cedar/NJ-2" in await listed(demo_store, NodeKind.SITE, oakridge)
    assert await listed(demo_store, NodeKind.ORGANIZATION, cedar) == [
        "org:cedar",
        "org:northwind",
        "org:oakridge",
    ]
