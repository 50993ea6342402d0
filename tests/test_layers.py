"""Imports go one way, bottom to top: data_prep and model; evaluation; tracking; engine; entry points (the root
scripts, bench/, docs/, tests/). A module imports only from its own layer or below, and no module-level imports form
a cycle. Imports inside functions count for the layer rule (they still couple the code) but not for cycles (they do
not run at import time).
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"data_prep": 0, "model": 0, "evaluation": 1, "tracking": 2, "engine": 3}
ENTRY_LAYER = 4  # root scripts, bench/, docs/, tests/: anything outside the layered packages
NOT_SOURCE = {"__pycache__", "wandb", "runs", "data", "cache", "weights"}  # outputs; hidden folders (.venv) too


def layer_of(module: str) -> int:
    return LAYERS.get(module.split(".")[0], ENTRY_LAYER)


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under ``root`` outside hidden folders (.venv) and output folders."""
    modules = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".") and name not in NOT_SOURCE]
        for name in files:
            if name.endswith(".py"):
                path = Path(folder, name)
                parts = path.relative_to(root).with_suffix("").parts
                parts = parts[:-1] if parts[-1] == "__init__" else parts
                if parts:
                    modules[".".join(parts)] = path
    return modules


def _import_nodes(tree: ast.Module, module_level: bool):
    """Import statements of ``tree``; with ``module_level`` only those that run when the module is imported."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif module_level and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))


def imported_modules(module: str, path: Path, modules: dict[str, Path], module_level: bool = False) -> set[str]:
    """The project modules that ``module`` (the file ``path``) imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # A folder of scripts without __init__.py (bench/) is on sys.path when they run: siblings import by bare name.
    script_folder = package if package and not (path.parent / "__init__.py").exists() else None

    def resolve(name: str) -> str | None:
        for candidate in ([f"{script_folder}.{name}"] if script_folder else []) + [name]:
            if candidate in modules:
                return candidate
        return None

    found = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), module_level):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import sub`` imports the submodule when there is one, else a name from the package itself.
            targets = [f"{base}.{alias.name}" if resolve(f"{base}.{alias.name}") else base for alias in node.names]
        found.update(filter(None, map(resolve, targets)))
    found.discard(module)
    return found


def upward_imports(root: Path) -> list[str]:
    modules = project_modules(root)
    return [f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
            for module, path in modules.items() for target in sorted(imported_modules(module, path, modules))
            if layer_of(target) > layer_of(module)]


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of modules whose module-level imports reach each other (strongly connected components of size > 1)."""
    modules = project_modules(root)
    graph = {module: imported_modules(module, path, modules, module_level=True) for module, path in modules.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_from_a_layer_above_it():
    assert upward_imports(PROJECT_ROOT) == []


def test_no_module_level_import_cycles():
    assert import_cycles(PROJECT_ROOT) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checker_flags_an_upward_import(tmp_path):
    root = _write(tmp_path, {"model/__init__.py": "", "model/net.py": "from engine.loop import step\n",
                             "engine/__init__.py": "", "engine/loop.py": "def step():\n    from model import net\n",
                             "bench/measure.py": "", "bench/speed.py": "from measure import report\nimport train\n",
                             "train.py": "from engine import loop\n"})
    assert upward_imports(root) == ["model.net (layer 0) imports engine.loop (layer 3)"]
    assert import_cycles(root) == []  # engine.loop imports model.net inside a function only


def test_the_checker_flags_a_cycle(tmp_path):
    root = _write(tmp_path, {"tracking/__init__.py": "", "tracking/a.py": "from tracking import b\n",
                             "tracking/b.py": "from .c import thing\n", "tracking/c.py": "import tracking.a\n"})
    assert upward_imports(root) == []
    assert import_cycles(root) == [["tracking.a", "tracking.b", "tracking.c"]]
