"""Dependencies point one way: demo -> api -> reports -> ratings -> conversations (DESIGN,
Architecture and Layout); `demo` is the top floor, imported by no app."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# For each app, the apps it must never import.
FORBIDDEN = {
    "conversations": {"mail", "ratings", "reports", "api", "demo"},
    "mail": {"ratings", "reports", "api", "demo"},
    "ratings": {"reports", "api", "demo"},
    "reports": {"api", "demo"},
    "api": {"demo"},
}


def imported_packages(source: str, module: str) -> set[str]:
    """The top-level packages that `source` (the code of the dotted `module`) imports,
    relative imports resolved against the module's package."""
    package = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:  # `from .. import x` at the top: x is the package
                    found.update(alias.name for alias in node.names)
                    continue
                found.add(target[0])
            else:
                found.add(node.module.split(".")[0])
    return found


def forbidden_imports(app: str) -> list[str]:
    problems = []
    for path in sorted((PROJECT_ROOT / app).rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).with_suffix("")
        module = ".".join(relative.parts)  # a package's __init__ resolves against the package
        for package in sorted(imported_packages(path.read_text(), module) & FORBIDDEN[app]):
            problems.append(f"{relative}.py imports {package}")
    return problems


def test_import_linter_keeps_the_layers():
    lint_imports = Path(sys.executable).parent / "lint-imports"

    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_no_app_imports_a_layer_above_it(app):
    assert (PROJECT_ROOT / app / "__init__.py").exists()
    assert forbidden_imports(app) == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from ratings import x", "conversations.services", {"ratings"}),
        ("import reports.selectors", "conversations.models", {"reports"}),
        ("import os, ratings.models as m", "conversations.models", {"os", "ratings"}),
        ("def f():\n    from ratings.rules import eligibility\n", "conversations.x", {"ratings"}),
        ("from ..ratings import rules", "conversations.services", {"ratings"}),
        ("from .. import reports", "conversations.services", {"reports"}),
        ("from . import models", "conversations.services", {"conversations"}),
        ("from .models import Part", "conversations.services", {"conversations"}),
        ("from conversations.models import Part", "ratings.models", {"conversations"}),
    ],
)
def test_the_import_scanner_finds_imports(source, module, expected):
    assert imported_packages(source, module) == expected


def test_the_import_scanner_reports_a_forbidden_import(tmp_path, monkeypatch):
    app = tmp_path / "conversations"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "services.py").write_text("from ratings import x\n")
    monkeypatch.setattr(sys.modules[__name__], "PROJECT_ROOT", tmp_path)

    assert forbidden_imports("conversations") == ["conversations/services.py imports ratings"]
