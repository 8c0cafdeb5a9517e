"""Source versions for cache keys: a hash of the code a component runs, so that TFX re-runs a
component after its code changed and reuses it otherwise.

TFX's cache key covers a component's inputs and execution properties, but a function named by an
import string (`modules.transform.preprocessing_fn`) or an executor class is only its name there.
`source_version("modules.transform")` hashes that module and every module of this project it
imports, directly or not; the factory puts the hash among the component's execution properties.
The hash is taken over the parsed code, so comments and formatting do not count; docstrings do.
The typed configuration (modules/config.py) is left out: its values reach each component as
properties of its own, which are in the cache key already, so editing a default that a component
does not receive, or a docstring, re-runs nothing.
"""
import ast
import hashlib
import os
from typing import Iterable, List, Set

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Execution property that carries the hash (executors ignore it; TFX's cache key includes it).
KEY = "source_version"
_PACKAGES = ("components", "modules", "pipeline", "schema")
# Modules whose code is not part of any component's version (see above).
_SETTINGS = ("modules.config",)


def _module_file(name: str, root: str) -> str:
    """The file of a project module, or "" for a module outside the project (or settings)."""
    if name.split(".")[0] not in _PACKAGES or name in _SETTINGS:
        return ""
    base = os.path.join(root, *name.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return ""


def imported(tree: ast.Module) -> Iterable[str]:
    """Module names an AST imports; `from a import b` yields `a` and `a.b` (b may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def project_files(*modules: str, root: str = PROJECT_ROOT) -> List[str]:
    """The project files that `modules` consist of and import, transitively; sorted."""
    seen: Set[str] = set()
    pending = [path for path in (_module_file(name, root) for name in modules) if path]
    missing = [name for name in modules if not _module_file(name, root)]
    if missing:
        raise ValueError(f"not a module of this project: {', '.join(missing)}")
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        pending += [found for found in (_module_file(name, root) for name in imported(tree))
                    if found]
    return sorted(seen)


def source_version(*modules: str, root: str = PROJECT_ROOT) -> str:
    """A short hash of the code of `modules` and of every project module they import."""
    digest = hashlib.sha256()
    for path in project_files(*modules, root=root):
        with open(path, encoding="utf-8") as f:
            code = ast.dump(ast.parse(f.read(), path))
        digest.update(os.path.relpath(path, root).encode() + b"\0" +
                      code.encode() + b"\0")
    return digest.hexdigest()[:16]


def file_version(path: str) -> str:
    """A short hash of a data file's bytes (the curated schema)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]
