"""Every third-party package the code imports is declared in pyproject.toml (and nothing else is)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _imported(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("chainrule", "__future__")}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared():
    declared = {_normal(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0])
                for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    imported = _imported(ROOT / "src" / "chainrule")
    assert {"sympy", "mpmath", "markupsafe", "anyio"} <= imported  # the walk finds imports at all
    needed = {name: {_normal(d) for d in providers.get(name, [name])} for name in imported}
    assert [name for name, dists in sorted(needed.items()) if not dists & declared] == []
    assert declared <= {d for dists in needed.values() for d in dists}, "a declared dependency nothing imports"
