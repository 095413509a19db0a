"""The shape the code keeps (issue 17), checked on the source: what import-linter cannot see.
The import contracts themselves run as `lint-imports` in `make test` (pyproject.toml)."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("missionops", "spacecraft", "telemetry", "anomalies", "orbits", "jobs", "telescopes", "planning", "console")
SERVICE_MODULES = {"services.py"}  # and every module of a services package
MAX_MODULE_LINES = 450


def app_modules():
    """Every app module outside tests and migrations, with its parsed source."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            yield path, ast.parse(path.read_text(), filename=str(path))


def where(path: Path, node) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_no_app_imports_another_apps_private_names():
    found = []
    for path, tree in app_modules():
        own_app = path.relative_to(ROOT).parts[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                other_app = node.module.split(".")[0]
                if other_app in APPS and other_app != own_app:
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    found += [f"{where(path, node)} {node.module}.{name}" for name in private]
    assert found == []


def settings_read(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings":
            if node.attr.isupper():
                names.add(node.attr)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "settings"
            and isinstance(node.args[1], ast.Constant)
        ):
            names.add(node.args[1].value)
    return names


def test_every_setting_the_code_reads_is_declared_in_settings_py():
    read = set().union(*(settings_read(tree) for path, tree in app_modules() if path.name != "settings.py"))
    assert sorted(name for name in read if not hasattr(settings, name)) == []


def test_every_environment_setting_is_documented_in_env_example():
    declared = set(re.findall(r'env(?:\.\w+)?\("([A-Z][A-Z0-9_]+)"', (ROOT / "missionops/settings.py").read_text()))
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert sorted(declared - documented) == []


def test_public_service_functions_are_documented_and_keyword_only():
    """Every public function of a service module has a docstring; one taking more than one
    argument takes them by keyword (a call names what it passes)."""
    found = []
    for path, tree in app_modules():
        if path.name not in SERVICE_MODULES and path.parent.name != "services":
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            positional = node.args.posonlyargs + node.args.args
            if ast.get_docstring(node) is None:
                found.append(f"{where(path, node)} {node.name}: no docstring")
            if len(positional) > 1:
                found.append(f"{where(path, node)} {node.name}: positional {[a.arg for a in positional]}")
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_no_module_is_over_450_lines(app):
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path, _ in app_modules()
        if path.relative_to(ROOT).parts[0] == app and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []
