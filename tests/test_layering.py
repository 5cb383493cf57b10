"""The package's layers import only downwards (docs/design.md draws them).

From bottom to top: ``paths`` and ``errors``; ``text``; ``data``; ``stats``;
``plots``; ``reports``; ``cli``. A module may import its own layer and the
layers below it, never one above, including imports inside functions and
modules named in strings (``importlib.import_module("analysis.…")``).
``analysis/__init__.py`` is the public facade and may name any layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"
LAYERS = (
    ("analysis.paths", "analysis.errors"),
    ("analysis.text",),
    ("analysis.data",),
    ("analysis.stats",),
    ("analysis.plots",),
    ("analysis.reports",),
    ("analysis.cli", "analysis.__main__"),
)
_NAMED_IN_STRING = re.compile(r"""["'](analysis(?:\.[a-z_]+)+)["']""")


def layer_of(module: str) -> int | None:
    """The layer (0 at the bottom) of a dotted module name; None for the facade or outside the package."""
    for number, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def imported_modules(source: str, package: str) -> set[str]:
    """Every ``analysis…`` module a source imports, anywhere in it, or names in a string."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found |= {
                f"{base}.{alias.name}"
                for alias in node.names
                if layer_of(f"{base}.{alias.name}") is not None and base == "analysis"
            }
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(_NAMED_IN_STRING.findall(repr(node.value)))
    return {name for name in found if name.startswith("analysis")}


def upward_imports(path: Path) -> list[str]:
    """``module -> imported`` for every import of a higher layer by the module at ``path``."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    own = layer_of(module)
    if own is None:
        return []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return [
        f"{module} -> {name}"
        for name in sorted(imported_modules(path.read_text(encoding="utf-8"), package))
        if (layer_of(name) or 0) > own
    ]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    assert upward_imports(path) == []


def test_every_module_belongs_to_a_layer():
    outside = [
        str(p.relative_to(PACKAGE))
        for p in MODULES
        if layer_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) is None
        and p != PACKAGE / "__init__.py"
    ]
    assert outside == []


def test_the_check_catches_an_import_inside_a_function_and_one_named_in_a_string(tmp_path):
    source = (
        "def f():\n    from analysis.reports import runner\nimport importlib\nimportlib.import_module('analysis.cli')\n"
    )
    assert imported_modules(source, "analysis.data") == {"analysis.reports", "analysis.cli"}
    assert layer_of("analysis.reports.runner") > layer_of("analysis.data.units")


def test_no_module_is_over_1000_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 1000}
    assert long == {}


def test_the_candidates_file_starts_with_the_raw_observation_columns():
    # text/review.py sits below data/ and cannot import the schema: its copy is held to it here.
    from analysis.data.schema import OBSERVATION_COLUMNS
    from analysis.text import review

    assert review.OBSERVATION_COLUMNS == OBSERVATION_COLUMNS
