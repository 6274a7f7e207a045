"""The layout's rules, checked over every module of the package (not a hand-kept list):

* nothing outside ``trailtui/ui/`` imports textual; nothing in the core imports ``cli`` or ``ui``
  (the core is every module outside ``cli/``, ``ui/`` and ``__main__``), ``ui`` never imports
  ``cli``
* no import cycles between modules (lazy imports inside functions count too)
* no private name (``_x``) imported from another module
* importing every core module in a fresh interpreter loads neither textual nor boto3
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "trailtui"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = ("trailtui", *p.relative_to(PKG).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in the file."""
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [a.name for a in node.names]
            subs = [n for n in names if f"{base}.{n}" in MODULES]
            out += [(f"{base}.{n}", [], node.lineno) for n in subs]
            out.append((base, [n for n in names if n not in subs], node.lineno))
    return out


def _owner(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _is_core(name: str) -> bool:
    return not name.startswith(("trailtui.cli", "trailtui.ui", "trailtui.__main__"))


def test_layers() -> None:
    bad = []
    for name, path in MODULES.items():
        for target, _, line in _imports(name, path):
            where = f"{path.relative_to(PKG.parent)}:{line} imports {target}"
            if target.split(".")[0] == "textual" and not name.startswith("trailtui.ui"):
                bad.append(where)
            if _is_core(name) and target.startswith(("trailtui.cli", "trailtui.ui")):
                bad.append(where)
            if name.startswith("trailtui.ui") and target.startswith("trailtui.cli"):
                bad.append(where)
    assert not bad, "imports that run the wrong way:\n" + "\n".join(bad)


def test_no_private_names_across_modules() -> None:
    bad = []
    for name, path in MODULES.items():
        for target, names, line in _imports(name, path):
            if not target.startswith("trailtui") or _owner(target) == name:
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{path.relative_to(PKG.parent)}:{line}: {n} from {target}")
    assert not bad, "private names used outside their module:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            owner = _owner(target) if target.startswith("trailtui") else None
            # a package's __init__ is not a dependency of the modules inside it
            if owner and owner != name and not name.startswith(owner + "."):
                graph[name].add(owner)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycles.append([*stack[stack.index(w) :], w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_core_imports_no_textual_or_boto3_at_runtime() -> None:
    core = [m for m in MODULES if _is_core(m) and m != "trailtui"]
    code = (
        "import importlib, sys\n"
        f"for m in {core!r}: importlib.import_module(m)\n"
        "import trailtui.cli.parser; trailtui.cli.parser.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'boto3'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(core) > 20  # the walk found the package
