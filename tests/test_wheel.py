"""The wheel ships what an installed pipelint needs: the rule docs (copied from
``rules/`` at build time) and the command catalog. Built from a copy of this checkout,
installed into a fresh virtual environment, run from outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelint.rules import ALL_RULES
from tests.packaging_support import ROOT, clean_env, copy_checkout

FIXTURE = ROOT / "fixtures" / "RP101" / "sync_basic.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src = copy_checkout(base / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)],
        check=True,
        env=clean_env(),
        cwd=base,
    )  # fmt: skip
    (whl,) = (base / "dist").glob("pipelint-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``bin`` directory of a fresh venv with the wheel (and its dependencies)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        env=clean_env(),
        cwd=env_dir,
    )
    yield bindir


def _run(bindir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bindir / "pipelint"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        timeout=120,
    )


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for code in ALL_RULES:
        assert f"pipelint/rules/docs/{code}.md" in names
    assert "pipelint/catalog/commands.json" in names
    assert not any(n.startswith(("tests/", "fixtures/", "rules/")) for n in names)


def test_installed_rule_docs(installed: Path, tmp_path: Path) -> None:
    res = _run(installed, "rule", "RP101", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == (ROOT / "rules" / "RP101.md").read_text(encoding="utf-8")
    res = _run(installed, "rule", "--all", "--output-format", "json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    docs = {r["code"]: r["explanation"] for r in json.loads(res.stdout)}
    assert docs == {
        code: (ROOT / "rules" / f"{code}.md").read_text(encoding="utf-8") for code in ALL_RULES
    }
    # the docs came from the installed package, not from this checkout
    where = subprocess.run(
        [str(installed / "python"), "-c",
         "import pipelint, pipelint.rules.docs as d; print(pipelint.__file__); print(d.docs_dir())"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=clean_env(),
    ).stdout.splitlines()  # fmt: skip
    assert not Path(where[0]).is_relative_to(ROOT)
    assert where[1] == "None"


def test_installed_check(installed: Path, tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    shutil.copy(FIXTURE, target)
    res = _run(
        installed, "check", "--no-cache", "--select", "RP101", "--output-format", "json",
        "app.py", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    codes = {d["code"] for d in json.loads(res.stdout)}
    assert codes == {"RP101"}
    res = _run(installed, "check", "--no-cache", "--output-format", "sarif", "app.py", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    rules = json.loads(res.stdout)["runs"][0]["tool"]["driver"]["rules"]
    rp101 = next(r for r in rules if r["id"] == "RP101")
    assert rp101["help"]["markdown"] == (ROOT / "rules" / "RP101.md").read_text(encoding="utf-8")
