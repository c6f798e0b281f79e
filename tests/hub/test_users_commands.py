"""The operator's ``partnerhub users`` and ``clients add --public`` commands: a password
goes in by a hidden prompt or standard input and comes out nowhere."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app

PASSWORD = "a long enough password"


def test_users_are_added_listed_and_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    database = tmp_path / "cli.sqlite"
    monkeypatch.setenv("HUB_DATABASE", f"sqlite:///{database}")
    runner = CliRunner()

    added = runner.invoke(
        app,
        ["users", "add", "--org", "birch", "--email", "Ana@Birch.example", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    prompted = runner.invoke(
        app,
        ["users", "add", "--org", "elm", "--email", "eli@elm.example", "--scopes", "graph:read"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    too_short = runner.invoke(
        app,
        ["users", "add", "--org", "elm", "--email", "eve@elm.example", "--password-stdin"],
        input="short\n",
    )
    listed = runner.invoke(app, ["users", "list", "--org", "birch", "--json"])
    table = runner.invoke(app, ["users", "list"])
    disabled = runner.invoke(app, ["users", "disable", "ana@birch.example"])
    again = runner.invoke(app, ["users", "disable", "ana@birch.example"])
    public = runner.invoke(
        app, ["clients", "add", "--public", "--redirect-uri", "http://127.0.0.1:5173/cb", "--json"]
    )
    clients = runner.invoke(app, ["clients", "list"])

    assert added.exit_code == 0, added.output
    assert prompted.exit_code == 0, prompted.output
    assert too_short.exit_code == 1 and "at least 12 characters" in too_short.output
    assert [user["email"] for user in json.loads(listed.output)] == ["ana@birch.example"]
    assert table.exit_code == 0
    assert disabled.exit_code == 0 and again.exit_code == 1
    assert public.exit_code == 0 and '"client_id": "app-' in public.output
    assert "console" in clients.output and "app-" in clients.output
    outputs = [added, prompted, listed, disabled, public, clients]
    assert all(PASSWORD not in result.output for result in outputs), "never echoed"
    assert PASSWORD not in "\n".join(record.getMessage() for record in caplog.records)
    assert PASSWORD.encode() not in database.read_bytes()
