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


# --- writes live under services (issue 17) ---------------------------------------------------

# Outside the services packages, migrations and tests, these may write: each (module, function; "*"
# for the whole module) with why.
WRITERS_ALLOWED = {
    ("missionops/testing.py", "*"): "the pytest plugin builds the tests' fixtures",
    ("missionops/beat.py", "*"): "the data migrations' helper that schedules beat tasks",
    ("missionops/bootstrap.py", "main"): "make's pre-flight creates the database itself, before Django runs",
    ("telescopes/simulators.py", "*"): "the simulated catalogue's own SQLite fixture, not the project's database",
}
# Not app code proper: seeding, the admin (Django's own forms write), the management commands.
WRITE_CHECK_SKIPPED = ("services", "management", "services.py", "demo.py", "admin.py")
# Model and manager methods that always write (no other kind of object here has them).
WRITE_METHODS = {"create", "bulk_create", "bulk_update", "get_or_create", "update_or_create", "save"}
QUERYSET_METHODS = {"filter", "exclude", "all", "select_for_update", "order_by", "select_related", "only", "defer"}
SQL_CALLS = {"execute", "executemany", "copy"}
WRITE_SQL = re.compile(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP|TRUNCATE|ALTER|COPY\s.*\sFROM\s)", re.I | re.S)


def orm_chain(node) -> bool:
    """`X.objects...`, or a queryset method call somewhere down the chain (`x.filter(...)`)."""
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            return True
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in QUERYSET_METHODS:
                return True
            node = node.func
        else:
            node = node.value
    return False


def sql_text(node, constants: dict) -> str | None:
    """The SQL a call passes, as far as the source shows it: a literal, an f-string's literal parts,
    a module constant, psycopg's sql.SQL("...")(.format(...))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return sql_text(node.func.value, constants)
    if isinstance(node, ast.Call) and node.args and getattr(node.func, "attr", getattr(node.func, "id", "")) == "SQL":
        return sql_text(node.args[0], constants)
    return None


def orm_and_sql_writes(tree) -> list[tuple[ast.Call, str]]:
    """The calls in this module that write through the ORM or by raw SQL, each with its function."""
    constants = {
        target.id: text
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and (text := sql_text(node.value, {})) is not None
    }
    # Names bound to a queryset (`jobs = Job.objects.filter(...)`): their .update()/.delete() write.
    querysets = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and orm_chain(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []

    def visit(node, function: str):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            visit(child, name if function == "*" else function)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            return
        method, receiver = node.func.attr, node.func.value
        if isinstance(receiver, ast.Call) and getattr(receiver.func, "id", "") == "super":
            return  # a model overriding save()/delete(): the write happens where it is called
        on_queryset = orm_chain(receiver) or (isinstance(receiver, ast.Name) and receiver.id in querysets)
        if (
            method in WRITE_METHODS
            or (method == "update" and on_queryset)
            # Model.delete() and QuerySet.delete() take no keys; Redis' delete(key) does.
            or (method == "delete" and (on_queryset or not node.args))
            or (method in SQL_CALLS and node.args and WRITE_SQL.match(sql_text(node.args[0], constants) or ""))
        ):
            found.append((node, function))

    visit(tree, "*")
    return found


def test_writes_live_under_services():
    """No module outside a services package writes to the database (ORM writes or write SQL),
    but the few in WRITERS_ALLOWED."""
    found = []
    for path, tree in app_modules():
        relative = path.relative_to(ROOT)
        if set(WRITE_CHECK_SKIPPED) & {*relative.parts, path.name}:
            continue
        lines = path.read_text().splitlines()
        for node, function in orm_and_sql_writes(tree):
            if {(str(relative), "*"), (str(relative), function)} & WRITERS_ALLOWED.keys():
                continue
            found.append(f"{where(path, node)} in {function}: {lines[node.lineno - 1].strip()}")
    assert found == []
