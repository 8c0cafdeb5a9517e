"""`arith-tfx doctor` on this machine's real environment, and on roots it must refuse."""
import os
import subprocess
import sys

from pipeline.commands import doctor


def test_a_ready_machine_passes_and_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "doctor", "--root",
                             str(tmp_path / "root")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in doctor.PINNED:
        assert f"ok       {name} " in result.stdout, (name, result.stdout)
    assert "(it will be created)" in result.stdout
    assert result.stdout.rstrip().endswith("ready to run"), result.stdout


def test_a_root_under_a_file_is_a_problem_with_a_fix(tmp_path):
    (tmp_path / "file").write_text("")
    (finding,) = doctor.check_root(str(tmp_path / "file" / "root"))
    assert finding.level == "PROBLEM" and "which is a file" in finding.what
    assert "--root" in finding.fix


def test_too_little_disk_is_a_problem(tmp_path):
    found = doctor.check_root(str(tmp_path), min_free_bytes=1 << 60)
    (disk,) = [f for f in found if "free under" in f.what]
    assert disk.level == "PROBLEM" and "larger disk" in disk.fix


def test_leftover_staging_folders_are_named(tmp_path):
    os.makedirs(tmp_path / "serving" / ".staging-5-abcd")
    (leftover,) = [f for f in doctor.check_root(str(tmp_path)) if f.level == "warning"]
    assert "unfinished push" in leftover.what and "next `arith-tfx run`" in leftover.fix


def test_a_pin_that_differs_is_a_problem(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("tfx==0.0.1\n")
    (tfx,) = [f for f in doctor.check_stack(str(constraints)) if f.what.startswith("tfx ")]
    assert tfx.level == "PROBLEM" and "constraints.txt pins 0.0.1" in tfx.what
    assert "pip install" in tfx.fix


def test_a_missing_chromium_is_a_warning_with_the_package(tmp_path):
    finding = doctor.check_chromium(str(tmp_path))  # an empty folder as the whole PATH
    assert finding == doctor.Finding(
        "warning", "no Chromium on PATH (none of chromium, chromium-browser, google-chrome): the "
                   "HTML report test is skipped, or fails where CI is set",
        "apt-get install chromium (or put chromium-browser or google-chrome on PATH)")


def test_chromium_is_found_on_path_under_each_name_the_report_test_uses(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "chromium").write_text("not executable")  # which() passes over it
    for name in doctor.CHROMIUM_NAMES:
        folder = tmp_path / name
        folder.mkdir()
        browser = folder / name
        browser.write_text("#!/bin/sh\n")
        browser.chmod(0o755)
        search_path = os.pathsep.join([str(elsewhere), str(folder)])
        assert doctor.find_chromium(search_path) == str(browser)
        assert doctor.check_chromium(search_path) == doctor.Finding(
            "ok", f"Chromium at {browser} (the HTML report test renders with it)")
