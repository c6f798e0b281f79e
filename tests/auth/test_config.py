"""AuthConfig fails at start-up, naming the field, instead of at every request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from auth.config import AuthConfig


def test_defaults() -> None:
    config = AuthConfig(issuer="https://hub.example", audience="https://hub.example/api")

    assert config.access_token_lifetime == timedelta(minutes=15)
    assert config.clock_leeway == timedelta(seconds=30)
    assert config.signing_algorithm == "RS256"
    assert config.key_retention == timedelta(minutes=15, seconds=30)
    assert config.endpoint("/oauth/token") == "https://hub.example/oauth/token"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"issuer": "http://hub.example"}, "issuer"),
        ({"issuer": "https://hub.example?x=1"}, "issuer"),
        ({"issuer": "hub.example"}, "issuer"),
        ({"audience": ""}, "audience"),
        ({"access_token_lifetime": timedelta(0)}, "access_token_lifetime"),
        ({"clock_leeway": timedelta(seconds=-1)}, "clock_leeway"),
        ({"clock_leeway": timedelta(hours=1)}, "clock_leeway"),
    ],
)
def test_bad_values_name_the_field(overrides: dict[str, object], named: str) -> None:
    settings: dict[str, object] = {"issuer": "https://hub.example", "audience": "aud", **overrides}
    with pytest.raises(ValueError, match=named):
        AuthConfig(**settings)  # type: ignore[arg-type]


def test_loopback_http_is_allowed_for_development() -> None:
    assert AuthConfig(issuer="http://127.0.0.1:8000", audience="aud").issuer.startswith("http:")
    assert AuthConfig(issuer="http://localhost:8000", audience="aud")
