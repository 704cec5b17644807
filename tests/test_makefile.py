"""The two commands' set-up, as a new user meets it: a Python too old is named before any venv is made."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def fake_python(tmp_path: Path, version: str) -> Path:
    """An interpreter that says it is ``version`` and fails the Makefile's version check, as that
    Python would (anything else it is asked is an error, so the test sees if make goes further)."""
    script = tmp_path / "python-old"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = "--version" ]; then echo "Python {version}"; exit 0; fi\n'
                      'echo "fake python asked: $*" >&2; exit 1\n')
    script.chmod(0o755)
    return script


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert shutil.which("make"), "make runs these tests (make test); it must be on PATH"
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    return copy


@pytest.mark.parametrize("goal", ["run", "test"])
def test_an_old_python_is_named_and_nothing_is_built(project: Path, tmp_path: Path, goal: str) -> None:
    old = fake_python(tmp_path, "3.10.13")
    result = subprocess.run(["make", goal, f"PYTHON={old}"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"moisim needs Python 3.11 or newer, and '{old}' is Python 3.10.13." in result.stderr
    assert f"Name one that is: make {goal} PYTHON=python3.11" in result.stderr
    assert "fake python asked" not in result.stderr  # stopped at the check: no venv, no pip
    assert not (project / ".venv").exists()


def test_a_python_that_is_not_there_is_named(project: Path) -> None:
    result = subprocess.run(["make", "run", "PYTHON=no-such-python3"], cwd=project, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "moisim needs Python 3.11 or newer, and 'no-such-python3' is not installed." in result.stderr
    assert not (project / ".venv").exists()


@pytest.mark.parametrize(("goal", "venv"), [("test", ".venv"), ("lint", ".venv-lint")])
def test_a_venv_is_built_from_scratch(project: Path, tmp_path: Path, goal: str, venv: str) -> None:
    # A venv left by another Python (or by a failed install) keeps its interpreter unless the
    # recipe clears it, and then every later `make` fails the same way.
    calls = tmp_path / "calls"
    python = tmp_path / "python-new"
    python.write_text("#!/bin/sh\n"
                      'if [ "$1" = "-c" ]; then exit 0; fi\n'  # the version check passes
                      f'echo "$*" >> {calls}; exit 1\n')  # record how the venv is made, then stop make
    python.chmod(0o755)
    (project / venv / "bin").mkdir(parents=True)  # the leftover
    result = subprocess.run(["make", goal, f"PYTHON={python}"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert calls.read_text().splitlines() == [f"-m venv --clear {venv}"]


def test_clean_removes_what_the_set_up_built_and_keeps_the_store(project: Path) -> None:
    for built in (".venv/bin", ".venv-lint/bin", ".pytest_cache", "moisim.egg-info"):
        (project / built).mkdir(parents=True)
    for kept in ("moisim.db", "moisim.db-wal", "moisim.db-shm"):
        (project / kept).write_bytes(b"orders")
    result = subprocess.run(["make", "clean"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in project.iterdir()) == ["Makefile", "moisim.db", "moisim.db-shm", "moisim.db-wal",
                                                         "pyproject.toml"]
