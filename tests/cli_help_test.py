"""`arith-tfx --help` and every subcommand's --help, word for word as tests/cli_help.txt keeps them,
from a parser built in a process that cannot import TensorFlow, TFX, Beam or ML Metadata: moving
the code of the commands changes nothing a user reads, and the parser stays quick to build, before
any library prints. After a deliberate change of the arguments:
`python tests/cli_help_test.py > tests/cli_help.txt`."""
import dataclasses
import difflib
import os
import subprocess
import sys

from modules.config import GeneratorConfig

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(PROJECT_ROOT, "tests", "cli_help.txt")

_PRINT_EVERY_HELP = """
import argparse
import importlib.abc
import sys

HEAVY = ("tensorflow", "tfx", "apache_beam", "tensorflow_data_validation",
         "tensorflow_transform", "tensorflow_model_analysis", "ml_metadata", "tf_keras", "keras")


class RefuseHeavy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HEAVY:
            raise ImportError(f"building the parser imported {name}")
        return None


sys.meta_path.insert(0, RefuseHeavy())
from pipeline.commands.cli import build_parser

parser = build_parser()
(commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
print("$ arith-tfx --help")
print(parser.format_help())
for name, command in commands.choices.items():
    print(f"$ arith-tfx {name} --help")
    print(command.format_help())
"""


def every_help() -> str:
    """The help texts at 80 columns, with the defaults that depend on this machine fixed."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("ARITH_TFX_CLUSTER", "ARITH_TFX_CACHE", "XDG_CACHE_HOME")}
    env.update(COLUMNS="80", HOME="/home/user")
    result = subprocess.run([sys.executable, "-c", _PRINT_EVERY_HELP], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_help_is_as_kept():
    with open(GOLDEN, encoding="utf-8") as f:
        kept = f.read()
    found = every_help()
    assert found == kept, "".join(difflib.unified_diff(
        kept.splitlines(True), found.splitlines(True), GOLDEN, "now"))


def test_each_help_text_of_generate_names_a_generator_field():
    from pipeline.commands import generate
    assert set(generate.HELP) <= {field.name for field in dataclasses.fields(GeneratorConfig)}


if __name__ == "__main__":
    sys.stdout.write(every_help())
