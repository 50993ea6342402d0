"""Imports go one way, bottom to top: data_prep and model; evaluation; tracking; engine; cli (the commands' parsing
and the orchestrators); entry points (the root scripts, bench/, docs/, tests/). A module imports only from its own
layer or below, and no module-level imports form a cycle. Imports inside functions count for the layer rule (they
still couple the code) but not for cycles (they do not run at import time). A library module may keep a
``python -m`` shim: an ``if __name__ == "__main__":`` block (or a package's ``__main__.py``) that only imports its
command from cli and runs it. No module of the layers runs a project script (``train.py``, ``bench/...``,
``python -m <project module>``) as a subprocess: it calls the function instead.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"data_prep": 0, "model": 0, "evaluation": 1, "tracking": 2, "engine": 3, "cli": 4}
ENTRY_LAYER = 5  # root scripts, bench/, docs/, tests/: anything outside the layered packages
NOT_SOURCE = {"__pycache__", "wandb", "runs", "data", "cache", "weights"}  # outputs; hidden folders (.venv) too


def layer_of(module: str) -> int:
    """A package's ``__main__`` (``python -m package``) is an entry point wherever it lies."""
    return ENTRY_LAYER if module.endswith(".__main__") else LAYERS.get(module.split(".")[0], ENTRY_LAYER)


def _is_main_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'", "'__main__' == __name__")


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
    pending = [node for node in tree.body if not _is_main_guard(node)]  # a shim's imports: main_guard_problems
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


def main_guard_problems(root: Path) -> list[str]:
    """Layered modules whose ``if __name__ == "__main__":`` block does more than import its command from cli and run
    it (the command's parsing and printing belong in cli/)."""
    problems = []
    for module, path in project_modules(root).items():
        if layer_of(module) >= LAYERS["cli"]:
            continue
        for node in filter(_is_main_guard, ast.parse(path.read_text(), str(path)).body):
            imports = [n for n in node.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            others = [n for n in node.body if n not in imports]
            from_cli = all(isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "cli" for n in imports)
            if not (imports and from_cli and len(others) == 1 and isinstance(others[0], ast.Expr)):
                problems.append(f"{module}: its __main__ block should only import its command from cli and run it")
    return problems


PROCESS_CALLS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
                 "subprocess.check_output", "os.system", "os.execv", "os.execvp", "os.spawnv"}


def script_subprocesses(root: Path) -> list[str]:
    """Calls in the layered packages that start a project script as a process: a ``*.py`` or ``bench/`` path, or
    ``-m`` with a project module (or the interpreter itself, ``sys.executable``, which only runs Python)."""
    modules = project_modules(root)
    packages = {module.split(".")[0] for module in modules}
    found = []
    for module, path in modules.items():
        if layer_of(module) > LAYERS["cli"]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) in PROCESS_CALLS):
                continue
            words = [n.value for arg in node.args for n in ast.walk(arg)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            python = any("sys.executable" in ast.unparse(arg) for arg in node.args)
            scripts = [w for w in words if w.endswith(".py") or w.startswith("bench/")]
            scripts += [w for before, w in zip(words, words[1:]) if before == "-m" and w.split(".")[0] in packages]
            if scripts or python:
                found.append(f"{module}:{node.lineno} runs {', '.join(scripts) or 'sys.executable'} as a process")
    return found


def test_no_module_imports_from_a_layer_above_it():
    assert upward_imports(PROJECT_ROOT) == []


def test_no_module_level_import_cycles():
    assert import_cycles(PROJECT_ROOT) == []


def test_library_modules_only_keep_a_shim_to_their_command():
    assert main_guard_problems(PROJECT_ROOT) == []


def test_no_library_module_runs_a_project_script_as_a_process():
    assert script_subprocesses(PROJECT_ROOT) == []


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


def test_the_checker_lets_a_shim_import_its_command_and_nothing_more(tmp_path):
    shim = 'if __name__ == "__main__":\n    from cli.court import main\n\n    main()\n'
    root = _write(tmp_path, {"tracking/__init__.py": "", "tracking/court.py": shim,
                             "tracking/events.py": shim.replace("main()", "import argparse\n    main()"),
                             "data_prep/__init__.py": "", "data_prep/synth/__init__.py": "",
                             "data_prep/synth/__main__.py": "from cli.synth import main\n\nmain()\n",
                             "cli/__init__.py": "", "cli/court.py": "", "cli/synth.py": ""})
    assert upward_imports(root) == []
    assert main_guard_problems(root) == ["tracking.events: its __main__ block should only import its command from cli "
                                         "and run it"]


def test_the_checker_flags_a_project_script_run_as_a_process(tmp_path):
    root = _write(tmp_path, {"engine/__init__.py": "", "engine/steps.py": (
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, 'train.py', '--stage', 'refine'])\n"
        "subprocess.run(['python', '-m', 'tracking.export', '--out', 'x'])\n"
        "subprocess.run(['python', 'bench/calibration.py'])\n"
        "subprocess.run(['git', 'rev-parse', 'HEAD'])\n"
        "subprocess.run(['ffmpeg', '-i', 'a.mp4'])\n"),
        "tracking/__init__.py": "", "tracking/export.py": "",
        "bench/run.py": "import subprocess\nsubprocess.run(['python', 'train.py'])\n"})
    assert script_subprocesses(root) == ["engine.steps:2 runs train.py as a process",
                                         "engine.steps:3 runs tracking.export as a process",
                                         "engine.steps:4 runs bench/calibration.py as a process"]
