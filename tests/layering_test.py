"""The layers: components/ and modules/ (what the pipeline runs, packaged for cache keys and
workers) never import the pipeline/ or cluster/ code above them; cluster/ imports none of the
others. pipeline/ has floors of its own, from the ground up: the definition of the pipeline and
its runners (its own files), a root's state (state/), the reports (reports/), the pushed models
(serving/) and the commands (commands/); none imports a floor above it."""
import ast
import glob
import os

import pytest

from pipeline.source_version import PROJECT_ROOT, imported

# Each layer (a folder's own files, or with `/**` all below it) and the modules above it.
_ABOVE = {"components/**": ("pipeline", "cluster"), "modules/**": ("pipeline", "cluster"),
          "cluster/**": ("pipeline", "components", "modules"),
          "pipeline": ("pipeline.state", "pipeline.reports", "pipeline.serving",
                       "pipeline.commands"),
          "pipeline/state/**": ("pipeline.reports", "pipeline.serving", "pipeline.commands"),
          "pipeline/reports/**": ("pipeline.serving", "pipeline.commands"),
          "pipeline/serving/**": ("pipeline.commands",)}


def _imports(path):
    with open(path, encoding="utf-8") as f:
        return imported(ast.parse(f.read(), path))


def _within(name, package):
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("layer", sorted(_ABOVE))
def test_a_layer_never_imports_the_layers_above_it(layer):
    files = glob.glob(os.path.join(PROJECT_ROOT, layer, "*.py"), recursive=True)
    assert files
    wrong = sorted(f"{os.path.relpath(path, PROJECT_ROOT)} imports {name}"
                   for path in files for name in _imports(path)
                   if any(_within(name, above) for above in _ABOVE[layer]))
    assert wrong == []
