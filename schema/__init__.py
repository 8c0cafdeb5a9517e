"""The curated data schemas, shipped as package data: one per operand range."""
import glob
import os

FOLDER = os.path.dirname(__file__)
# The default profile's (operands up to 99); `data.curated_schema` names another file here.
DEFAULT = "schema.pbtxt"
CURATED_SCHEMA = os.path.join(FOLDER, DEFAULT)


def names():
    """The curated schema files, by name."""
    return sorted(os.path.basename(path) for path in glob.glob(os.path.join(FOLDER, "*.pbtxt")))


def path(name: str) -> str:
    return os.path.join(FOLDER, name)
