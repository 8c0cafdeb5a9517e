"""The layers: components/ and modules/ (what the pipeline runs, packaged for cache keys and
workers) never import the pipeline/ or cluster/ code above them; cluster/ imports none of the
others."""
import ast
import glob
import os

import pytest

from pipeline.source_version import PROJECT_ROOT, imported

_ABOVE = {"components": ("pipeline", "cluster"), "modules": ("pipeline", "cluster"),
          "cluster": ("pipeline", "components", "modules")}


def _imports(path):
    with open(path, encoding="utf-8") as f:
        return imported(ast.parse(f.read(), path))


@pytest.mark.parametrize("package", sorted(_ABOVE))
def test_a_package_never_imports_the_layers_above_it(package):
    files = glob.glob(os.path.join(PROJECT_ROOT, package, "**", "*.py"), recursive=True)
    assert files
    wrong = sorted(f"{os.path.relpath(path, PROJECT_ROOT)} imports {name}"
                   for path in files for name in _imports(path)
                   if name.split(".")[0] in _ABOVE[package])
    assert wrong == []
