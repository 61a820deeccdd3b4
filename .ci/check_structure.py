"""Structure checks for `make lint`: no import cycles, imports in one direction, SQL only in bot/store/.

    python .ci/check_structure.py [ROOT]     exit 1 and print one line per problem if there is one

Imports. Every import statement counts, wherever it sits (module level, inside a function, under TYPE_CHECKING): a
cycle hidden in a function is still a cycle for whoever reads or moves the code. An import is an edge to what Python
runs and reads when it executes:
- `import a.b.c` and `from a.b.c import x` run a/__init__, a/b/__init__ and a/b/c: an edge to each of them, except the
  importer's own packages (they are already running when the importer runs).
- `from pkg import Name`, Name not a submodule, reads Name from pkg's namespace: an edge to pkg even from inside pkg
  (pkg/__init__ must have bound Name by then), and an edge to the module that defines Name, following re-exports
  (`from bot.store.alarms import Alarms` in bot/store/__init__.py makes `from bot.store import Alarms` an edge to
  bot.store and to bot.store.alarms). `from pkg import submodule` is an edge to the submodule.
- A package's __init__ importing its own submodules is an edge like any other, so a submodule that imports a name
  from its package's __init__ is a cycle.
Imports made at run time by name (importlib, __import__) are not seen.

Layers, one direction: `bot.*` → `handlers` → `bot.core` → `rosters`. rosters imports only rosters (and the standard
library and third parties); bot.core imports only bot.core and rosters; handlers imports only handlers, bot.core and
rosters; the rest of bot imports anything of the three packages. bot/__init__.py runs whenever bot.core is imported,
so it belongs to the bot.core layer. Checked on every module an import names or resolves to through a re-export.

SQL. Outside bot/store/ no string may hold SQL: a constant, an f-string, a concatenation (`+` or implicit), a
`%`-formatting, a `.format` or a `.join` of string pieces is read as one text, each non-constant piece standing for a
word, and flagged if that text looks like a statement (SELECT … FROM, INSERT INTO, UPDATE … SET, DELETE FROM,
CREATE TABLE/INDEX, ALTER TABLE, BEGIN IMMEDIATE). Inside bot/store/, SQL (those statements, or a piece of one
with an upper-case clause word: WHERE, AND, OR, SET, VALUES, IN, JOIN, ORDER BY, …) may be built from pieces, but
every interpolated or concatenated piece must be fixed text: made only of constants, names in ALL_CAPS (module
constants such as a column list: `f"SELECT {_COLUMNS} FROM …"`), the builtins in FIXED_BUILTINS, and names bound
inside the piece itself (a comprehension's variable). Values go in as `?` parameters. The pieces accepted
otherwise are listed, with the reason, in SQL_PIECES_ALLOWED. SAVEPOINT/RELEASE/ROLLBACK TO are not in the vocabulary.
What the check cannot see: SQL assembled over several statements (`sql += piece`, where no one expression holds
a statement or an upper-case clause word), and SQL that is not written in a string of the source.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("bot", "handlers", "rosters")
# Who may import whom, one direction: bot → handlers → bot.core → rosters (bot/core is the shared vocabulary at the
# bottom of bot/, below handlers).
ALLOWED = {"bot": {"bot", "bot.core", "handlers", "rosters"}, "handlers": {"handlers", "bot.core", "rosters"},
           "bot.core": {"bot.core", "rosters"}, "rosters": {"rosters"}}

SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                 r"(TABLE|INDEX)|ALTER\s+TABLE|BEGIN\s+IMMEDIATE)\b", re.IGNORECASE | re.DOTALL)
# In bot/store/ a built string is SQL also when it holds a clause word in capitals (a piece of a WHERE clause).
SQL_CLAUSE = re.compile(r"\b(WHERE|AND|OR|SET|VALUES|IN|LIKE|JOIN|ORDER\s+BY|GROUP\s+BY|HAVING|LIMIT|OFFSET|UNION)\b")
SQL_HOME = "bot/store/"
SQL_WORD = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|BEGIN)\b", re.IGNORECASE)
CONSTANT_NAME = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
FIXED_BUILTINS = {"len", "str", "int", "repr", "range", "enumerate", "zip", "sorted", "reversed", "min", "max"}
# (file, piece as written): why it is fixed text although the rule cannot tell.
SQL_PIECES_ALLOWED: dict[tuple[str, str], str] = {}  # (file, piece) → why it is safe; lists pass as json_each(?)
WORD = " X "  # what a non-constant piece reads as in the text of a built string
PERCENT_FIELD = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(\.(\*|\d+))?[a-zA-Z]")
FORMAT_FIELD = re.compile(r"\{[^{}]*\}")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    if module in ("bot", "bot.core") or module.startswith("bot.core."):
        return "bot.core"
    return module.split(".")[0]


def ancestors(module: str) -> list[str]:
    """a.b.c → [a, a.b]."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@dataclass
class Module:
    name: str
    path: str  # relative to the root, with /
    is_package: bool
    tree: ast.Module
    # Module-level names: ("def",) defined here, ("module", m) a module, ("from", m, name) imported from m.
    bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)
    # (line, kind, base, name): kind "import" (base is the module) or "from" (name may be "*").
    imports: list[tuple[int, str, str, str]] = field(default_factory=list)


def absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".")
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def read_bindings(module: Module, body: list[ast.stmt]) -> None:
    """The names a module binds at module level (also under if/try/with), for following re-exports."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module.bindings[node.name] = ("def",)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        module.bindings[name.id] = ("def",)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module.bindings[alias.asname] = ("module", alias.name)
                else:
                    top = alias.name.split(".")[0]
                    module.bindings[top] = ("module", top)
        elif isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            for alias in node.names:
                if alias.name == "*":
                    module.stars.append(base)
                else:
                    module.bindings[alias.asname or alias.name] = ("from", base, alias.name)
        elif isinstance(node, ast.If | ast.Try | ast.TryStar | ast.With | ast.AsyncWith | ast.For | ast.AsyncFor
                        | ast.While):
            for name in ("body", "orelse", "finalbody"):
                read_bindings(module, getattr(node, name, []))
            for handler in getattr(node, "handlers", []):
                read_bindings(module, handler.body)


class Project:
    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules
        # module → imported module → (line, what the importer wrote), the first import statement making that edge
        self.graph: dict[str, dict[str, tuple[int, str]]] = {name: {} for name in modules}

    def known_prefix(self, name: str) -> str:
        while name and name not in self.modules:
            name = name.rpartition(".")[0]
        return name

    def defining(self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> tuple[str, str]:
        """Where `from module import name` leads: ("module", m) a module, ("name", m) a name defined in m,
        ("", "") outside the project."""
        if module not in self.modules:
            return ("", "")
        submodule = f"{module}.{name}"
        if (module, name) in seen:  # `from pkg import sub` in pkg/__init__.py binds sub to itself
            return ("module", submodule) if submodule in self.modules else ("name", module)
        seen = seen | {(module, name)}
        binding = self.modules[module].bindings.get(name)
        if binding is None:
            if submodule in self.modules:
                return ("module", submodule)
            for star in self.modules[module].stars:
                if star in self.modules and (name in self.modules[star].bindings or f"{star}.{name}" in self.modules):
                    return self.defining(star, name, seen)
            return ("name", module)
        if binding[0] == "def":
            return ("name", module)
        if binding[0] == "module":
            target = self.known_prefix(binding[1])
            return ("module", target) if target == binding[1] else ("", "")
        return self.defining(binding[1], binding[2], seen)

    def edge(self, src: str, dst: str, line: int, how: str) -> None:
        if dst and dst != src and dst not in self.graph[src]:
            self.graph[src][dst] = (line, how)

    def run_edges(self, src: str, target: str, line: int, how: str) -> None:
        """Importing `target` runs it and its packages' __init__ files, the importer's own packages excepted."""
        own = set(ancestors(src))
        for module in [*ancestors(target), target]:
            if module not in own:
                self.edge(src, module, line, how)

    def resolve(self, module: Module) -> list[tuple[int, str]]:
        """Adds the module's edges to the graph; returns (line, what) for each module an import statement names or
        reaches through a re-export, the most specific one for each imported name."""
        named: list[tuple[int, str]] = []
        for line, kind, base, name in module.imports:
            known = self.known_prefix(base)
            if not known:
                continue
            if kind == "import" or known != base:
                self.run_edges(module.name, known, line, f"import {base}")
                named.append((line, known))
                continue
            how = f"{name} from {base}"
            self.run_edges(module.name, base, line, how)
            what, target = self.defining(base, name) if name != "*" else ("", "")
            if what == "module":
                self.run_edges(module.name, target, line, how)
                named.append((line, target))
            elif what == "name":
                # Name is read from base's namespace: base's __init__ must have run far enough, even for a submodule
                # of base. The module that defines it is imported by then too.
                self.edge(module.name, base, line, how)
                self.edge(module.name, target, line, how)
                named.append((line, target if target == base else f"{target} ({name}, through {base})"))
            else:
                named.append((line, base))
        return named


def read_imports(module: Module) -> None:
    """Every import statement of the module, at any depth (imports are statements: expressions need no visit)."""
    stack: list[ast.AST] = [module.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            module.imports.extend((node.lineno, "import", alias.name, "") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            module.imports.extend((node.lineno, "from", base, alias.name) for alias in node.names)
        else:
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, name, None)
                if isinstance(inner, list):
                    stack.extend(inner)


def sql_problems(module: Module, source: str) -> list[str]:
    in_home = module.path.startswith(SQL_HOME)
    if not in_home and not SQL_WORD.search(source):
        return []  # no statement can be built without one of its first words written in the source
    problems: list[str] = []
    stack: list[ast.AST] = [module.tree]
    while stack:
        node = stack.pop()
        built = string_parts(node) if isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp | ast.Call) else None
        if built is None:
            stack.extend(ast.iter_child_nodes(node))
            continue
        text, pieces, how = built
        line = getattr(node, "lineno", 0)
        if not in_home and SQL.search(text):
            built_by = "" if how == "constant" else f" ({how})"
            problems.append(f"{module.path}:{line}: SQL outside {SQL_HOME}{built_by}")
        elif in_home and pieces and (SQL.search(text) or SQL_CLAUSE.search(text)):
            for piece in pieces:
                written = ast.unparse(piece)
                if not fixed_text(piece) and (module.path, written) not in SQL_PIECES_ALLOWED:
                    short = written if len(written) <= 40 else written[:37] + "..."
                    problems.append(f"{module.path}:{getattr(piece, 'lineno', line)}: SQL built from `{short}` "
                                    f"({how}): interpolate only constants and ALL_CAPS names; values go in as ?")
        stack.extend(pieces)
    return problems


def string_parts(node: ast.AST) -> tuple[str, list[ast.expr], str] | None:
    """The text of a string this expression builds, each non-constant piece read as a word; the pieces; how it is
    built. None if the expression builds no string that can be read."""
    if isinstance(node, ast.Constant):
        return (node.value, [], "constant") if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        text, pieces = [], []
        for value in node.values:
            if isinstance(value, ast.Constant):
                text.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                text.append(WORD)
                pieces.append(value.value)
                if isinstance(value.format_spec, ast.JoinedStr):
                    pieces.extend(v.value for v in value.format_spec.values if isinstance(v, ast.FormattedValue))
        return "".join(text), pieces, "f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = string_parts(node.left), string_parts(node.right)
        if left is None and right is None:
            return None
        text, pieces = "", []
        for side, built in ((node.left, left), (node.right, right)):
            text += built[0] if built else WORD
            pieces += built[1] if built else [side]
        return text, pieces, "concatenation"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = string_parts(node.left)
        if left is None:
            return None
        args = list(node.right.elts) if isinstance(node.right, ast.Tuple) else [node.right]
        return PERCENT_FIELD.sub(WORD, left[0]), left[1] + args, "%-formatting"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        base = string_parts(node.func.value)
        if base is None:
            return None
        if node.func.attr == "format":
            args = list(node.args) + [k.value for k in node.keywords]
            return FORMAT_FIELD.sub(WORD, base[0]), base[1] + args, ".format"
        if len(node.args) != 1:
            return None
        items = node.args[0]
        if isinstance(items, ast.List | ast.Tuple):
            text, pieces = [], list(base[1])
            for item in items.elts:
                built = string_parts(item)
                text.append(built[0] if built else WORD)
                pieces += built[1] if built else [item]
            return base[0].join(text), pieces, ".join"
        return base[0] + WORD, base[1] + [items], ".join"
    return None


def fixed_text(piece: ast.expr) -> bool:
    """Made only of constants, ALL_CAPS names, FIXED_BUILTINS and names bound inside the piece itself."""
    bound = {n.id for n in ast.walk(piece) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(piece) if isinstance(n, ast.Lambda) for a in ast.walk(n.args)
              if isinstance(a, ast.arg)}
    for node in ast.walk(piece):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if not (CONSTANT_NAME.match(node.id) or node.id in bound or node.id in FIXED_BUILTINS):
                return False
        elif isinstance(node, ast.Await | ast.Yield | ast.YieldFrom):
            return False
    return True


def cycles(graph: dict[str, dict[str, tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for nxt in children:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return out


def shortest_cycle(graph: dict[str, dict[str, tuple[int, str]]], component: list[str]) -> list[str]:
    """The shortest cycle through the first module of a strongly connected component."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return [*component, start]  # not reached: every member of a component lies on a cycle through any other


def main(root: Path) -> int:
    modules: dict[str, Module] = {}
    problems: list[str] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(root, path)
            source = path.read_text(encoding="utf-8")
            module = Module(name, path.relative_to(root).as_posix(), path.name == "__init__.py", ast.parse(source))
            modules[name] = module
            read_bindings(module, module.tree.body)
            read_imports(module)
            problems += sql_problems(module, source)
    project = Project(modules)
    for module in modules.values():
        top = layer(module.name)
        against: dict[int, list[str]] = {}
        for line, what in project.resolve(module):
            if layer(what.split(" ")[0]) not in ALLOWED[top] and what not in against.get(line, []):
                against.setdefault(line, []).append(what)
        problems += [f"{module.path}:{line}: imports {', '.join(whats)} ({top} may import only "
                     f"{', '.join(sorted(ALLOWED[top]))})" for line, whats in against.items()]
    problems.sort(key=lambda p: (p.split(":")[0], int(p.split(":")[1])))
    for component in cycles(project.graph):
        path = shortest_cycle(project.graph, component)
        where = ", ".join(f"{modules[a].path}:{project.graph[a][b][0]} {project.graph[a][b][1]}"
                          for a, b in zip(path, path[1:], strict=False))
        rest = "" if len(component) == len(path) - 1 else f"; the knot: {', '.join(component)}"
        problems.append(f"import cycle: {' → '.join(path)} [{where}]{rest}")
    for problem in problems:
        print(problem)
    if not problems:
        edges = sum(len(deps) for deps in project.graph.values())
        print(f"structure ok: {len(modules)} modules, {edges} import edges (through package __init__ files too), "
              f"no cycles, imports one way, SQL only in {SQL_HOME} and built there from constants")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
