"""The package's layers import downward only, and no module imports itself through a loop.

Every import inside `reinforceable/` is read with `ast` (function-level imports included: they run
too); imports under `if TYPE_CHECKING:` run never and are listed in `TYPE_ONLY` instead. The
layers, bottom to top, are the ones ARCHITECTURE.md describes.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "reinforceable"

# Bottom to top. A module may import its own unit (a subpackage, or a root module), any unit of
# the shared bottom layer, and any unit of a lower layer; never one of its own layer or above.
LAYERS = (
    ("_checks", "_latch", "_mujoco_quiet", "_nest", "_random", "_startup", "errors"),
    ("ops", "models", "distributions"),
    ("envs", "layers"),
    ("driver",),
    ("networks", "replay", "dynamics", "estimation", "planning"),
    ("training",),
    ("agents",),
    ("distributed",),
    ("__init__",),  # the public API, `import reinforceable as rf`
    ("commands",),
    ("__main__",),
)
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}

# Imports that only type checkers run (`if TYPE_CHECKING:`): (importing module, imported module).
TYPE_ONLY = {
    ("reinforceable.agents._predict", "reinforceable.agents.base"),
    ("reinforceable.agents._saving", "reinforceable.agents.base"),
    ("reinforceable.training.callbacks", "reinforceable.training.trainer"),
}


def _modules() -> dict[str, pathlib.Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: pathlib.Path) -> tuple[set[str], set[str]]:
    """(run-time imports, type-only imports) of one module, as package module names."""
    package = path.name == "__init__.py"
    run, typing = set(), set()

    def target(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = module.split(".") if package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def add(into: set[str], node) -> None:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = target(node)
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] == "reinforceable":
                resolved = _resolve(name)
                if resolved and resolved != module:
                    into.add(resolved)

    def visit(node, into: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for statement in child.body:
                    visit_statement(statement, typing)
                for statement in child.orelse:
                    visit_statement(statement, into)
            else:
                visit_statement(child, into)

    def visit_statement(node, into: set[str]) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            add(into, node)
        else:
            visit(node, into)

    visit(ast.parse(path.read_text()), run)
    return run, typing


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def test_every_unit_has_a_layer():
    units = {_unit(module) for module in MODULES}
    assert units <= set(LEVEL), f"units missing from LAYERS: {sorted(units - set(LEVEL))}"


def test_no_module_imports_from_its_own_layer_or_above_at_run_time():
    wrong = []
    for module, (run, _) in sorted(GRAPH.items()):
        unit = _unit(module)
        for imported in sorted(run):
            other = _unit(imported)
            if other == unit or LEVEL[other] == 0 or LEVEL[other] < LEVEL[unit]:
                continue
            wrong.append(
                f"{module} -> {imported} ({unit}: layer {LEVEL[unit]}, {other}: {LEVEL[other]})"
            )
    assert not wrong, "imports across or up the layers:\n" + "\n".join(wrong)


def test_type_only_imports_are_the_listed_ones():
    found = {(module, imported) for module, (_, typing) in GRAPH.items() for imported in typing}
    assert found == TYPE_ONLY


def _loops() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), ignoring the links from
    a package's `__init__` to what it re-exports."""
    graph = {
        module: {m for m in run if not (MODULES[m].name == "__init__.py" and m in module)}
        for module, (run, _) in GRAPH.items()
    }
    index, low, stack, on_stack, loops = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            inits = [m for m in component if MODULES[m].name == "__init__.py"]
            if len(component) - len(inits) > 1:
                loops.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return loops


def test_no_run_time_import_loop():
    assert _loops() == []


@pytest.mark.parametrize("probe", ["upward", "loop"])
def test_the_walk_finds_what_it_is_meant_to_find(probe):
    """The checks above would catch a violation: a made-up upward import and a made-up loop."""
    saved = {m: (set(run), set(typing)) for m, (run, typing) in GRAPH.items()}
    try:
        if probe == "upward":
            GRAPH["reinforceable.envs.base"][0].add("reinforceable.agents.base")
            with pytest.raises(AssertionError, match=r"envs\.base -> reinforceable\.agents\.base"):
                test_no_module_imports_from_its_own_layer_or_above_at_run_time()
        else:
            GRAPH["reinforceable.ops.returns"][0].add("reinforceable.ops.schedules")
            GRAPH["reinforceable.ops.schedules"][0].add("reinforceable.ops.returns")
            assert ["reinforceable.ops.returns", "reinforceable.ops.schedules"] in _loops()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
