"""The hub's configuration: one typed object, read once at start-up.

Values come from the environment (``HUB_*``), then a ``.env`` file, then the defaults
below. A malformed value fails start-up with the variable's name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE = "sqlite:///var/partnerhub.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    store: str = Field(
        DEFAULT_STORE,
        description="Graph store URL: sqlite:///PATH (embedded) or bolt:// / neo4j:// (Neo4j).",
    )
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    log_level: str = "INFO"

    def sqlite_path(self) -> Path | None:
        if self.store.startswith("sqlite:///"):
            return Path(self.store.removeprefix("sqlite:///"))
        return None
