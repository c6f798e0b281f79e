"""Finding a partner's CSV mapping profile by name (HTTP) or by path (CLI).

Over HTTP a client names a profile; it never gives a path, so a request can read no
file but the profiles the operator put in ``HUB_PROFILES_DIR`` and those shipped in
``connectors/csv/profiles/``. The resolved profile goes into the connector options (and
so into the ledger), so a later replay uses exactly the mapping that was applied.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from connectors.csv.profile import (
    Profile,
    ProfileError,
    example_profile,
    example_profile_names,
    load_profile,
)

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def profile_by_name(name: str, profiles_dir: Path | None) -> Profile:
    """ProfileError when the name is malformed or names no profile."""
    if not _PROFILE_NAME.match(name) or ".." in name:
        raise ProfileError([("profile", f"{name!r} is not a profile name")], name)
    if profiles_dir is not None and (profiles_dir / f"{name}.yaml").is_file():
        return load_profile(profiles_dir / f"{name}.yaml")
    if name in example_profile_names():
        return example_profile(name)
    raise ProfileError([("profile", f"no profile named {name!r}")], name)


def profile_by_path_or_name(reference: str, profiles_dir: Path | None) -> Profile:
    path = Path(reference)
    return (
        load_profile(path)
        if path.suffix in (".yaml", ".yml") or path.exists()
        else profile_by_name(reference, profiles_dir)
    )


def with_profile(options: dict[str, Any], profile: Profile) -> dict[str, Any]:
    return {**options, "profile": profile.model_dump(mode="json")}
