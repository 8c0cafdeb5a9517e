"""Source versions: the hash follows the code a component runs, and only that code."""
import shutil

import pytest

from pipeline import source_version as sv


@pytest.fixture()
def project(tmp_path):
    for package in ("components", "modules", "pipeline", "schema"):
        shutil.copytree(f"{sv.PROJECT_ROOT}/{package}", tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _versions(root):
    return {name: sv.source_version(name, root=str(root)) for name in (
        "modules.transform", "modules.trainer", "components.data_gate.component",
        "components.sample_generator.executor")}


def test_a_module_depends_on_the_project_modules_it_imports_and_no_others():
    files = [path[len(sv.PROJECT_ROOT) + 1:] for path in sv.project_files("modules.transform")]
    assert "modules/transform.py" in files and "modules/tokens.py" in files
    assert not [path for path in files if path.startswith(("pipeline/", "components/"))]


def test_a_code_edit_changes_exactly_the_versions_that_import_it(project):
    before = _versions(project)
    tokens = project / "modules" / "tokens.py"
    tokens.write_text(tokens.read_text() + "\nEDITED = True\n")
    after = _versions(project)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"modules.transform", "modules.trainer"}


def test_the_configuration_module_is_no_part_of_any_version(project):
    """Its values reach the components as properties: an edited default or docstring in
    modules/config.py re-runs nothing by itself."""
    before = _versions(project)
    config = project / "modules" / "config.py"
    text = config.read_text()
    edited = text.replace("min_exact_match: float = 0.8", "min_exact_match: float = 0.85", 1)
    assert edited != text
    config.write_text(edited.replace('"""Gates between training and serving."""',
                                     '"""Gates between training and serving (edited)."""', 1))
    assert _versions(project) == before
    assert not [path for path in sv.project_files("modules.trainer")
                if path.endswith("modules/config.py")]


def test_comments_and_blank_lines_do_not_change_a_version(project):
    before = _versions(project)
    tokens = project / "modules" / "tokens.py"
    tokens.write_text("# a comment\n\n" + tokens.read_text() + "\n# another\n")
    assert _versions(project) == before


def test_the_schema_version_is_its_bytes(project):
    schema = project / "schema" / "schema.pbtxt"
    before = sv.file_version(str(schema))
    schema.write_text(schema.read_text().replace("max: ", "max:  ", 1))
    assert sv.file_version(str(schema)) != before


def test_a_module_outside_the_project_is_refused():
    with pytest.raises(ValueError, match="not a module of this project: json"):
        sv.source_version("json")
