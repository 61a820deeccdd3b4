"""Structure checks for `make lint`: no import cycles, imports in one direction, no SQL outside bot/store/.

Every import statement counts, wherever it sits (module level, inside a function, under TYPE_CHECKING): a cycle
hidden in a function is still a cycle for whoever reads or moves the code.

    python .ci/check_structure.py [ROOT]     exit 1 and name each problem if there is one
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PACKAGES = ("bot", "handlers", "rosters")
# Who may import whom, one direction: bot → handlers → bot.core → rosters (bot/core is the shared vocabulary at the
# bottom of bot/, below handlers).
ALLOWED = {"bot": {"bot", "bot.core", "handlers", "rosters"}, "handlers": {"handlers", "bot.core", "rosters"},
           "bot.core": {"bot.core", "rosters"}, "rosters": {"rosters"}}


def layer(module: str) -> str:
    return "bot.core" if module == "bot.core" or module.startswith("bot.core.") else module.split(".")[0]
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                 r"(TABLE|INDEX)|ALTER\s+TABLE|BEGIN\s+IMMEDIATE)\b", re.IGNORECASE | re.DOTALL)
SQL_HOME = "bot/store/"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The project modules `module` imports (a `from pkg import name` of a submodule counts as that submodule)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    resolved: set[str] = set()
    for name in found:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            resolved.add(name)
    return resolved


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def main(root: Path) -> int:
    files = {p: module_name(root, p) for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    known = set(files.values())
    graph: dict[str, set[str]] = {}
    problems: list[str] = []
    for path, module in sorted(files.items()):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, str(path))
        deps = imports_of(tree, module, path.name == "__init__.py", known)
        # A package's __init__ importing its own submodules is how a package re-exports; it is not a cycle.
        graph[module] = {d for d in deps if not (path.name == "__init__.py" and d.startswith(module + "."))}
        top = layer(module)
        for dep in sorted(deps):
            if layer(dep) not in ALLOWED[top]:
                problems.append(f"{path.relative_to(root)}: imports {dep} ({top} may import only "
                                f"{', '.join(sorted(ALLOWED[top]))})")
        relative = str(path.relative_to(root))
        if not relative.startswith(SQL_HOME):
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                    problems.append(f"{relative}:{node.lineno}: SQL outside {SQL_HOME}")
    for component in cycles(graph):
        problems.append("import cycle: " + " → ".join(component))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"structure ok: {len(files)} modules, no cycles, imports one way, SQL only in {SQL_HOME}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
