"""The import rules of docs/architecture.md: each area imports only the areas below it, so the
areas form no cycle, and the client never loads server code.

Imports are read from the source (every `import`, in functions too); those under
`if TYPE_CHECKING:` are types only and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import chatkit

PACKAGE = Path(chatkit.__file__).parent
SERVER_AREAS = {"http", "realtime", "data", "notify", "wire"}
# Top-level server modules every area may use: the error tree, the metrics, the rate limits
# and the Services container (whose component types are imported for type checking only).
SERVER_BASE = {"errors", "metrics", "ratelimit", "services"}

# Area -> the areas it may import (besides itself). Read as "the layers, bottom up".
ALLOWED: dict[str, set[str]] = {
    "core": set(),  # config, tokens, ids, timefmt, aiotools, wire (the wire objects), event_names
    "client": {"core"},
    "tui": {"core", "client"},
    "bench": {"core", "client"},
    "server-base": {"core"},
    "data": {"core", "server-base"},
    "wire": {"core", "server-base", "data"},
    "notify": {"core", "server-base", "data"},
    "realtime": {"core", "server-base", "data", "wire"},
    "http": {"core", "server-base", "data", "wire", "notify", "realtime"},
    "server-app": {"core", "server-base", "data", "wire", "notify", "realtime", "http"},
    # The command line (cli.py, commands/, demo.py) may use any of them.
    "cli": {"core", "client", "tui", "bench", "server-base", "data", "wire", "notify"}
    | {"server-app"},
}

# (importer, imported) -> why this one crossing is allowed.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("chatkit.config", "chatkit.server.ratelimit"): "a rate setting is checked by the limiter's "
    "own parser, imported when a rate is validated",
}


def area_of(module: str) -> str:
    parts = module.split(".")
    if module in ("chatkit.cli", "chatkit.__main__", "chatkit.demo") or parts[1:2] == ["commands"]:
        return "cli"
    if parts[1:2] in (["client"], ["tui"], ["bench"]):
        return parts[1]
    if parts[1:2] == ["server"]:
        if len(parts) > 2 and parts[2] in SERVER_AREAS:
            return parts[2]
        if len(parts) > 2 and parts[2] in SERVER_BASE:
            return "server-base"
        return "server-app"  # the package itself, app.py (create_app), runner.py
    return "core"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str) -> list[str]:
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            found += [name for other in node.orelse for name in _imports(other, package)]
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.append(node.module)
        found += _imports(node, package)
    return found


def import_edges() -> list[tuple[str, str]]:
    """(importer, imported module) for every chatkit module importing another."""
    edges: list[tuple[str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges += [
            (module, name)
            for name in _imports(tree, package)
            if name == "chatkit" or name.startswith("chatkit.")
        ]
    return edges


def test_the_rules_see_every_area_and_many_imports() -> None:
    edges = import_edges()
    areas = {area_of(module) for edge in edges for module in edge}

    assert areas == set(ALLOWED)
    assert len(edges) > 300  # the walk found the imports, functions' ones included


def test_each_area_imports_only_the_areas_below_it() -> None:
    violations = sorted(
        f"{importer} ({area_of(importer)}) imports {imported} ({area_of(imported)})"
        for importer, imported in import_edges()
        if area_of(imported) != area_of(importer)
        and area_of(imported) not in ALLOWED[area_of(importer)]
        and not any(
            importer == allowed_importer and imported.startswith(allowed_imported)
            for allowed_importer, allowed_imported in EXCEPTIONS
        )
    )

    assert violations == []


def test_the_areas_form_no_cycle() -> None:
    try:
        order = list(TopologicalSorter(ALLOWED).static_order())
    except CycleError as error:  # pragma: no cover - the assertion below reports it
        order = []
        cycle = error.args[1]
    else:
        cycle = None

    assert cycle is None
    assert order.index("data") < order.index("realtime") < order.index("http")
    assert order.index("client") < order.index("tui")


def test_data_never_imports_http_or_realtime() -> None:
    crossings = [
        (importer, imported)
        for importer, imported in import_edges()
        if area_of(importer) == "data" and area_of(imported) in ("http", "realtime", "notify")
    ]

    assert crossings == []


def test_importing_the_client_loads_no_server_code() -> None:
    probe = (
        "import sys, chatkit.client, chatkit.client.models, chatkit.wire; "
        "print(sorted(m for m in sys.modules if m.startswith('chatkit.server')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
