"""The engine never imports Qt: checked on the source and on a live import."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = {"PySide6", "pyqtgraph", "superqt", "shiboken6", "app"}


def test_engine_sources_never_import_qt() -> None:
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders


def test_importing_every_engine_module_loads_no_qt() -> None:
    code = (
        "import pkgutil, importlib, sys, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'PySide6','pyqtgraph','superqt','shiboken6'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ENGINE.parent)


def test_no_unpickling_anywhere() -> None:
    root = ENGINE.parent
    for path in list(root.glob("engine/**/*.py")) + list(root.glob("app/**/*.py")):
        text = path.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, path


def _yields_any(ann: ast.expr | None) -> bool:
    """A return annotation ``Iterator[Any]`` / ``Generator[Any, ...]``, or a bare ``Iterator``."""
    gens = {"Iterator", "Generator", "Iterable", "AsyncIterator"}

    def name(n: ast.expr) -> str:
        return n.attr if isinstance(n, ast.Attribute) else n.id if isinstance(n, ast.Name) else ""

    if ann is None:
        return False
    if name(ann) in gens:
        return True
    if isinstance(ann, ast.Subscript) and name(ann.value) in gens:
        first = ann.slice.elts[0] if isinstance(ann.slice, ast.Tuple) else ann.slice
        return name(first) == "Any"
    return False


def test_engine_generators_say_what_they_yield() -> None:
    """Long jobs yield typed events: a front-end dispatching on them must not get Any (mypy lets it through)."""
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _yields_any(node.returns):
                offenders.append(f"{path.relative_to(ENGINE.parent)}:{node.lineno} {node.name}")
    assert not offenders
