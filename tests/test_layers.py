"""The data flows one way: morphologies -> retargeting -> benchmark -> baselines -> leaderboard.
No module imports a package above its own (at any depth, lazily or not), no module imports
another module's private names, and the imports between the package's modules form no
cycle. Read from the source with `ast`, so it holds for every file, imported by a test or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("morphologies", "retargeting", "benchmark", "baselines", "leaderboard")


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names imported from it) for every absolute import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def _layer(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_stage_above_and_no_private_names(module):
    path = MODULES[module]
    mine = _layer(module)
    for line, imported, names in _imports(path):
        theirs = _layer(imported)
        if theirs is None:
            continue
        where = f"{path.relative_to(ROOT)}:{line}"
        assert theirs <= mine, f"{where} imports {imported}, a stage above {module}"
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{where} imports private names {private} of {imported}"


def test_the_modules_import_each_other_without_a_cycle():
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for _, imported, names in _imports(path):
            # `from package import module` names a module; otherwise the module itself
            targets = [f"{imported}.{n}" for n in names if f"{imported}.{n}" in MODULES]
            if not targets and imported in MODULES:
                targets = [imported]
            edges[module].update(t for t in targets if t != module)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(edges[module]):
            if state.get(other) == 1:
                cycle = path[path.index(other) :] + [other]
                if not _package_init_only(cycle):
                    raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def _package_init_only(cycle: list[str]) -> bool:
    """A package's __init__ that imports its own modules, which import each other through
    the package: every step between a package and a module inside it. Python resolves
    these (the package is in sys.modules before its __init__ finishes), so they are not
    counted; a cycle through two sibling modules is."""
    steps = zip(cycle, cycle[1:], strict=False)
    return all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in steps)
