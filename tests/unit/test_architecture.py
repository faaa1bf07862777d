"""The shape of the code, checked: imports go one way, the words of the domain live in the model,
and docs/architecture.md names every module (as sqlite-utils checks that its docs list every
command). These read the source with `ast`; they run nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
PACKAGES = ("connector", "jobs", "emulator", "sample", "docx_templates")
# the météo words, the last phase, the statuses of a milestone and of a risk
WORDS = {"Soleil", "Nuageux", "Orage", "Indéterminé", "Clos", "Ouvert", "Maîtrisé", "En retard", "Atteint", "À venir"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path, name: str) -> set[str]:
    """Every project module this one imports, at the top or inside a function (a lazy import is
    still a dependency)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


def test_the_emulator_imports_nothing_of_copil():
    """The emulator is SharePoint, not copil: it could ship alone."""
    leaks = {
        m: sorted(d for d in deps if not d.startswith("emulator"))
        for m, deps in GRAPH.items()
        if m.startswith("emulator")
    }
    assert {m: d for m, d in leaks.items() if d} == {}


def test_imports_go_one_way():
    """model <- the product (connector) <- the sample <- the command line; the product never
    imports the sample, the command line or the emulator."""
    allowed = {
        "connector.model": ("connector.model",),
        "connector": ("connector",),
        "sample": ("sample", "connector", "emulator"),
        "emulator": ("emulator",),
    }
    wrong = []
    for m, deps in GRAPH.items():
        layer = next((k for k in allowed if m == k or m.startswith(k + ".")), None)
        if layer is None:
            continue
        wrong += [f"{m} -> {d}" for d in deps if not any(d == a or d.startswith(a + ".") for a in allowed[layer])]
    assert wrong == []


def test_no_import_cycle():
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(GRAPH[m]):
            # a package's __init__ re-exporting its own modules is not a cycle between modules
            if m.startswith(d + ".") or d.startswith(m + "."):
                continue
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d) :] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
    assert cycles == []


def _word_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(ROOT)}:{n.lineno} {n.value!r}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in WORDS and id(n) not in docstrings
    ]


def test_the_words_of_the_domain_are_spelled_only_in_the_model():
    """« Clos » and the météo words are the model's (connector/model); everything else says
    Weather.ORAGE or Phase.CLOS, so a word changed in one place changes everywhere."""
    found = [
        hit
        for name, path in MODULES.items()
        if not name.startswith(("connector.model", "docx_templates"))
        for hit in _word_literals(path)
    ]  # the templates' headings are text for readers
    assert found == []


def _decides_running(path: Path, may_call: bool) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for n in ast.walk(tree):
        if isinstance(n, ast.Compare) and any(
            isinstance(x, ast.Attribute) and x.attr == "CLOS" for x in [n.left, *n.comparators]
        ):
            return True
        if (
            not may_call
            and isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", "")) == "is_running"
        ):
            return True
    return False


def test_only_consolidation_decides_whether_an_operation_runs():
    """Running or closed is a fact computed once (the `running` column); nothing else compares
    a phase with Phase.CLOS or calls is_running."""
    deciders = [
        name
        for name, path in MODULES.items()
        # the model defines it; the sample generates phases, it judges nothing
        if not name.startswith(("connector.model", "sample"))
        and _decides_running(path, may_call=name == "connector.consolidate")
    ]
    assert deciders == []


def test_architecture_doc_names_every_module():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for name, path in MODULES.items():
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip():
            continue
        if path.name == "__init__.py":  # a package is named by its folder
            found = f"{path.parent.name}/" in doc
        else:  # by its path, or by its file name in the block of its package
            found = rel in doc or f" {path.name}" in doc or f"{path.name} " in doc
        if not found:
            missing.append(rel)
    assert missing == [], "docs/architecture.md should name these modules"


STAGES = {
    "connector.extract": "extract",
    "connector.normalize": "normalize",
    "connector.consolidate": "consolidate",
    "connector.writeback": "write_back",
    "connector.reports.publish": "publish_reports",
    "connector.pipeline": "run_sync",
}


@pytest.mark.parametrize("module,function", sorted(STAGES.items()))
def test_architecture_doc_gives_each_stage_its_public_function(module, function):
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert function in defined, f"{module} no longer defines {function}"
    assert re.search(rf"`{re.escape(module.split('.')[-1])}\.{function}\(|`{function}\(", doc), (
        f"docs/architecture.md should give {module}.{function}"
    )


def test_every_lazy_import_says_why():
    """An import inside a function is for a heavy or optional dependency (or the CLI's start-up
    time), and says so on its line; anything else belongs at the top of the module."""
    silent = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                    before = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                    if "#" not in text and not before.startswith("#"):
                        silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert silent == []
