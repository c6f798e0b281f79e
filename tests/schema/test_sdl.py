"""The checked-in SDL is the contract other teams compose against: it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema.build import build_schema

SDL_FILE = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_the_checked_in_sdl_matches_the_code() -> None:
    in_code = build_schema().as_str()
    checked_in = SDL_FILE.read_text()

    assert checked_in == in_code + "\n", (
        "schema/schema.graphql is out of date: run "
        "`.venv/bin/partnerhub schema > schema/schema.graphql` and review the diff"
    )
    assert 'type Batch implements Node @key(fields: "id")' in checked_in
