"""Properties of the readiness judgement, against brute force: a readiness is as bad as
its worst check, and the milestones check counts exactly the overdue ones."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from graph.ids import NodeKind
from graph.lifecycle import Milestone, MilestoneStatus, TechTransfer
from graph.quality.readiness import (
    MILESTONE_LATE_DAYS,
    Check,
    CheckStatus,
    Facts,
    Readiness,
    check_milestones,
    found,
    judge,
)

AS_OF = date(2025, 9, 1)
TT = {"sponsor": "northwind", "vendor": "birch", "transfer_id": "TT-1"}
RANK = {CheckStatus.PASS: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}

statuses = st.lists(st.sampled_from(list(CheckStatus)), max_size=12)
days = st.none() | st.integers(-400, 400).map(lambda n: AS_OF + timedelta(days=n))


@given(statuses)
def test_a_readiness_is_as_bad_as_its_worst_check(found_statuses: list[CheckStatus]) -> None:
    checks = tuple(Check(f"c{n}", status, "") for n, status in enumerate(found_statuses))
    readiness = Readiness("org:birch", None, None, AS_OF, checks)
    expected = max(found_statuses, key=RANK.__getitem__, default=CheckStatus.PASS)
    assert readiness.status is expected


@given(
    st.lists(st.tuples(days, days, st.none() | st.sampled_from(list(MilestoneStatus))), max_size=15)
)
def test_the_milestones_check_counts_the_overdue_ones(
    milestones: list[tuple[date | None, date | None, MilestoneStatus | None]],
) -> None:
    transfer = TechTransfer(**TT)
    records = [
        Milestone(**TT, milestone_id=f"M{n}", planned_on=planned, done_on=done, status=status)
        for n, (planned, done, status) in enumerate(milestones)
    ]
    facts = Facts(
        vendor="org:birch",
        site=None,
        product=None,
        as_of=AS_OF,
        transfers=(found(transfer.id, NodeKind.TECH_TRANSFER, transfer, ()),),
        milestones=tuple(found(m.id, NodeKind.MILESTONE, m, ()) for m in records),
    )
    overdue = [
        m
        for m in records
        if m.planned_on is not None
        and m.planned_on < AS_OF
        and m.done_on is None
        and m.status not in (MilestoneStatus.DONE, MilestoneStatus.CANCELLED)
    ]
    check = check_milestones(facts)
    assert [e.id for e in check.evidence] == [m.id for m in overdue]
    very_late = any(
        m.planned_on is not None and (AS_OF - m.planned_on).days > MILESTONE_LATE_DAYS
        for m in overdue
    )
    expected = (
        CheckStatus.PASS if not overdue else CheckStatus.FAIL if very_late else CheckStatus.WARN
    )
    assert check.status is expected
    if overdue:
        assert check.message.startswith(f"{len(overdue)} overdue milestone(s)")
    assert judge(facts).status is max((c.status for c in judge(facts).checks), key=RANK.__getitem__)
