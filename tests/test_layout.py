"""The import contract: imports follow the data (export -> connectors -> canonical
records -> graph -> schema -> HTTP; auth beside them; hub assembles), no module imports
itself back through others, and each folder says what it holds.

An AST walk over the product's packages, not an import of them: a forbidden import is
found even in a function body or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("auth", "graph", "connectors", "schema", "hub", "deploy")

# What each top-level package may import of the others. Nothing outside hub imports hub.
MAY_IMPORT = {
    "auth": set(),
    "deploy": set(),
    "graph": {"auth"},
    "connectors": {"graph"},
    "schema": {"graph", "auth"},
    "hub": {"auth", "graph", "connectors", "schema"},
}

# (importer, imported): a module under the first may not import one under the second.
# A name ending in "." means that package's own top-level modules.
FORBIDDEN = [
    ("graph.sql", "graph.neo4j"),
    ("graph.neo4j", "graph.sql"),
    ("graph.quality", "graph.sql"),
    ("graph.quality", "graph.neo4j"),
    ("graph.", "graph.sql"),
    ("graph.", "graph.neo4j"),
    *[
        (family, other)
        for family in ("connectors.csv", "connectors.epcis", "connectors.asm", "connectors.b2mml")
        for other in ("connectors.csv", "connectors.epcis", "connectors.asm", "connectors.b2mml")
        if family != other
    ],
    ("hub.records", "hub."),
    ("hub.records", "hub.ingest"),
    ("hub.records", "hub.demo"),
    ("hub.ingest", "hub."),
    ("hub.ingest", "hub.demo"),
]
# Only the registry knows the format families.
FAMILY_IMPORTERS_AT_THE_TOP = {"connectors.registry"}

MOST_TOP_MODULES = {"hub": 12, "graph": 16, "connectors": 14}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "target" not in path.parts
    }


MODULES = product_modules()


def resolve(name: str) -> str | None:
    """The product module an imported name lives in (``graph.model.Batch`` ->
    ``graph.model``), or None for anything not ours."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from graph import model" names the module graph.model; "from graph.ids
            # import make_id" resolves to graph.ids.
            named += [f"{base}.{alias.name}" for alias in node.names]
    return {target for name in named if (target := resolve(name)) not in (None, module)}


GRAPH = {module: imports_of(module) for module in MODULES}


def under(module: str, prefix: str) -> bool:
    """Whether ``module`` is in the part ``prefix`` names ("hub.ingest": that package and
    below; "hub.": the modules at hub's top, not its subpackages)."""
    if prefix.endswith("."):
        return (
            module.startswith(prefix)
            and module.count(".") == 1
            and MODULES[module].name != "__init__.py"
        )
    return module == prefix or module.startswith(prefix + ".")


def test_imports_between_packages_follow_the_data() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if (top := module.split(".")[0]) != (other := target.split(".")[0])
        and other not in MAY_IMPORT[top]
    )
    assert wrong == []


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_parts_that_must_not_know_each_other_do_not(importer: str, imported: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if under(module, importer)
        for target in targets
        if under(target, imported)
    )
    assert wrong == []


def test_only_the_registry_imports_the_connector_families() -> None:
    families = ("connectors.csv", "connectors.epcis", "connectors.asm", "connectors.b2mml")
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if under(module, "connectors.") and module not in FAMILY_IMPORTERS_AT_THE_TOP
        for target in targets
        if any(under(target, family) for family in families)
    )
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    try:
        TopologicalSorter(GRAPH).prepare()
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize("package", sorted(MOST_TOP_MODULES))
def test_top_level_folders_stay_small(package: str) -> None:
    top = sorted(path.name for path in (ROOT / package).glob("*.py"))
    assert len(top) <= MOST_TOP_MODULES[package], top


def test_every_package_says_what_it_holds() -> None:
    silent = sorted(
        module
        for module, path in MODULES.items()
        if path.name == "__init__.py"
        and "migrations" not in path.parts
        and not ast.get_docstring(ast.parse(path.read_text()))
    )
    assert silent == []
