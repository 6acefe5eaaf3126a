"""The distribution: the check ``nox -s dist`` runs on the built sdist and wheel finds what is
missing, and every install line of the docs names the distribution and extras pyproject has."""

from __future__ import annotations

import io
import re
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.dist.check import package_files, problems

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NAME = PYPROJECT["project"]["name"]
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])


def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "fastrapi" / "static").mkdir(parents=True)
    (root / "fastrapi" / "__pycache__").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "fastrapi-trio"\n')
    (root / "README.md").write_text("# fastrapi\n")
    (root / "fastrapi" / "__init__.py").write_text("")
    (root / "fastrapi" / "static" / "hub.js").write_text("export class HubClient {}\n")
    (root / "fastrapi" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"")
    return root


def wheel(path: Path, name: str, files: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fastrapi_trio-0.1.0.dist-info/METADATA", f"Name: {name}\n\n")
        for file in files:
            archive.writestr(file, "")
    return path


def sdist(path: Path, files: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for file in files:
            archive.addfile(tarfile.TarInfo(f"fastrapi_trio-0.1.0/{file}"), io.BytesIO(b""))
    return path


def test_package_files_are_the_sources_and_assets_not_bytecode(tmp_path: Path) -> None:
    assert package_files(checkout(tmp_path)) == {"fastrapi/__init__.py", "fastrapi/static/hub.js"}


def test_complete_distributions_have_no_problem(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    files = sorted(package_files(root))
    good_wheel = wheel(tmp_path / "w.whl", "fastrapi-trio", files)
    good_sdist = sdist(tmp_path / "s.tar.gz", ["pyproject.toml", "README.md", *files])
    assert problems(root, good_wheel, good_sdist) == []


def test_a_missing_asset_a_missing_readme_and_a_wrong_name_are_each_reported(
    tmp_path: Path,
) -> None:
    root = checkout(tmp_path)
    bad_wheel = wheel(tmp_path / "w.whl", "fastrapi", ["fastrapi/__init__.py"])
    bad_sdist = sdist(tmp_path / "s.tar.gz", ["pyproject.toml", *package_files(root)])
    assert problems(root, bad_wheel, bad_sdist) == [
        "the wheel is 'fastrapi', pyproject names 'fastrapi-trio'",
        "fastrapi/static/hub.js: not in the wheel",
        "README.md: not in the sdist",
    ]


def test_an_empty_package_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    (root / "fastrapi").mkdir(parents=True)
    assert problems(root, tmp_path / "none.whl", tmp_path / "none.tar.gz") == [
        f"no package files under {root / 'fastrapi'}"
    ]


def install_lines() -> list[tuple[str, str]]:
    """Every ``pip install`` target written in the README, the docs and the examples, with
    where it is."""
    found = []
    for path in [ROOT / "README.md", *ROOT.glob("docs/*.rst"), *ROOT.glob("examples/*.py")]:
        for line in path.read_text().splitlines():
            for target in re.findall(r"pip install (?:-q |-e )*[\"']?([^\s\"'`]+)", line):
                found.append((target, path.name))
    return found


@pytest.mark.parametrize(("target", "where"), install_lines())
def test_install_lines_name_the_distribution_or_the_checkout_and_real_extras(
    target: str, where: str
) -> None:
    name, _, extras = target.partition("[")
    if name != "nox":  # the README's test command installs nox itself
        assert name in {".", NAME}, f"{where}: pip install {target}"
    for extra in filter(None, extras.rstrip("]").split(",")):
        assert extra in EXTRAS, f"{where}: pip install {target}: no extra {extra!r}"


def test_the_docs_say_how_to_install_from_a_checkout_and_from_pypi() -> None:
    targets = {target for target, _ in install_lines()}
    assert {".", ".[docs-ui]", NAME} <= targets
