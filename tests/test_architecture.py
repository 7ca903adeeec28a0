"""Views stay thin (issue 15 item 5): no view longer than 30 lines, no ORM writes in a view.

A view is a function whose first parameter is ``request`` in any ``*/views*.py`` module. Its
length counts the lines of its body (the ``def`` line and decorators excluded). A write is a
call of ``.save(``, ``.create(``, ``.update(``, ``.delete(``, ``bulk_create``, ``get_or_create``
or ``update_or_create`` written in the view itself; reads belong in the app's ``selectors.py``,
writes in its ``services.py`` (see docs/architecture.md, "Inside an app").

``python tests/test_architecture.py`` prints the current list. A view that truly cannot be
shortened sensibly goes in ``ALLOWED`` with the reason, like a ``# noqa: C901`` exception.

Tests mirror the modules: a test file of an app is ``tests/<app>/test_<module>.py`` or
``tests/<app>/test_<module>_<topic>.py``, ``<module>`` being the module of that app
(``<app>/<module>.py``, or a package ``<app>/<module>/``) that the file mainly tests.
Cross-cutting tests stay in tests/browser, tests/security, tests/faults and at the root.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 30
WRITES = {"save", "create", "update", "delete", "bulk_create", "bulk_update",
          "get_or_create", "update_or_create"}
# Form.save() on a ModelForm is a write too, but messages/sessions are not ORM writes.
NOT_ORM = {"session", "messages", "cache"}

# "module:function" -> why it stays as it is.
ALLOWED: dict[str, str] = {}



def view_modules():
    for path in sorted(ROOT.glob("*/views*.py")):
        if path.parts[-2] in {"tests", ".venv", "node_modules"}:
            continue
        yield path


def _receiver_name(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def views(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.posonlyargs + node.args.args
            if args and args[0].arg == "request":
                yield node


def body_lines(fn) -> int:
    return fn.end_lineno - fn.body[0].lineno + 1


QUERYSET = {"objects", "filter", "exclude", "all", "select_for_update", "using"}
ALWAYS = {"save", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}


def _chain(node: ast.AST) -> set[str]:
    """The attribute and method names a receiver is built from (`Model.objects.filter(...)`)."""
    names = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return names


def _is_write(call: ast.Call) -> bool:
    attr, receiver = call.func.attr, call.func.value
    if attr not in WRITES or _receiver_name(receiver) in NOT_ORM or _chain(receiver) & NOT_ORM:
        return False
    if attr == "save":  # form.save(commit=False) builds an unsaved instance for a service
        return not any(k.arg == "commit" for k in call.keywords)
    # dict.update() / a form's create helper are not ORM: require a manager or queryset receiver
    return attr in ALWAYS or bool(_chain(receiver) & QUERYSET)


def orm_writes(fn) -> list[str]:
    return [f"{node.func.attr} (line {node.lineno})" for node in ast.walk(fn)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_write(node)]


def problems() -> dict[str, list[str]]:
    out = {}
    for path in view_modules():
        module = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for fn in views(path):
            issues = []
            n = body_lines(fn)
            if n > MAX_LINES:
                issues.append(f"{n} lines")
            issues += [f"writes: {w}" for w in orm_writes(fn)]
            if issues:
                out[f"{module}:{fn.name}"] = issues
    return out


def test_the_check_finds_long_views_and_orm_writes(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text(
        "@decorator\n"
        "def fat(request):\n" + "    x = 1\n" * 31 +
        "def writer(request, pk):\n"
        "    Pupil.objects.filter(pk=pk).update(x=1)\n"
        "    form.save()\n"
        "    Thing.objects.get_or_create(pk=pk)\n"
        "    obj.delete()\n"
        "def fine(request):\n"
        "    ctx = {}\n"
        "    ctx.update(a=1)\n"
        "    request.session.update({})\n"
        "    return services.thing_save(thing=form.save(commit=False))\n"
        "def helper(day):\n" + "    x = 1\n" * 40)
    found = {fn.name: (body_lines(fn), [w.split()[0] for w in orm_writes(fn)]) for fn in views(sample)}
    assert found == {"fat": (31, []), "writer": (4, ["update", "save", "get_or_create", "delete"]),
                     "fine": (4, [])}


def test_views_are_thin():
    bad = {k: v for k, v in problems().items() if k not in ALLOWED}
    assert not bad, "Views over 30 lines or writing through the ORM (move reads to selectors.py, " \
        "writes to services.py, or add to ALLOWED with a reason):\n" + \
        "\n".join(f"  {k}: {', '.join(v)}" for k, v in sorted(bad.items()))


def test_allowed_list_is_current():
    stale = sorted(set(ALLOWED) - set(problems()))
    assert not stale, f"ALLOWED names views that are thin now (remove them): {stale}"


# --- tests mirror the modules --------------------------------------------------------------

APPS = ("tenants", "registers", "absences", "escalation", "letters", "dashboards", "demo",
        "recognition", "attendance_site")


def app_modules(folder: Path) -> set[str]:
    """The modules of an app: its ``*.py`` files and its packages."""
    return ({p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
            | {p.parent.name for p in folder.glob("*/__init__.py")})


def misnamed_tests(root: Path = ROOT) -> list[str]:
    """Test files under tests/<app>/ whose name does not start with test_<module> of that app."""
    out = []
    for app in APPS:
        modules = app_modules(root / app)
        for path in sorted((root / "tests" / app).glob("test_*.py")):
            topic = path.stem.removeprefix("test_")
            if not any(topic == m or topic.startswith(f"{m}_") for m in modules):
                out.append(path.relative_to(root).as_posix())
    return out


def test_the_layout_check_finds_misnamed_tests(tmp_path):
    for name in ("registers/services.py", "registers/views_grid.py", "registers/management/__init__.py",
                 "tests/registers/test_services.py", "tests/registers/test_services_concurrency.py",
                 "tests/registers/test_views_grid.py", "tests/registers/test_management_commands.py",
                 "tests/registers/test_race.py", "tests/registers/test_servicesx.py",
                 "tests/registers/test_views.py", "tests/registers/helpers.py",
                 "tests/letters/test_services.py", "tests/test_smoke.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    assert sorted(misnamed_tests(tmp_path)) == ["tests/letters/test_services.py",
                                                "tests/registers/test_race.py",
                                                "tests/registers/test_servicesx.py",
                                                "tests/registers/test_views.py"]


def test_tests_mirror_the_modules():
    bad = misnamed_tests()
    assert not bad, "Test files named after no module of their app (rename to " \
        "tests/<app>/test_<module>[_<topic>].py for the module they mainly test):\n" + \
        "\n".join(f"  {path}" for path in bad)


if __name__ == "__main__":
    found = problems()
    for key, issues in sorted(found.items()):
        mark = " [allowed]" if key in ALLOWED else ""
        print(f"{key}: {', '.join(issues)}{mark}")
    print(f"{len(found)} views", file=sys.stderr)
