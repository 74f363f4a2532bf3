"""requirements.lock, the Docker image's exact dependencies, against pyproject.toml: a drift fails CI.

The image installs the lock alone (pip --require-hashes --no-deps), so a dependency added to pyproject but not to
the lock would be missing from the image, and a lock whose version falls outside pyproject's range would ship
something the project never allowed. deploy/lock.sh regenerates the lock; these tests say when to run it.
Offline and fast: they read two files (and, for the extras of a dependency, its installed metadata).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK_TEXT = (ROOT / "requirements.lock").read_text(encoding="utf-8")
# The image's Python: the lock is resolved for it (deploy/lock.sh), so markers are judged for it.
IMAGE_ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def parse_lock(text: str) -> list[tuple[str, Version]]:
    """(normalised name, pinned version) of each `name==version \\` line (hash and comment lines skipped)."""
    return [(canonicalize_name(name), Version(version)) for name, version in _PIN.findall(text)]


def lock_entries(text: str) -> list[str]:
    """The lock's entries, each a pin line with its continuation lines (hashes)."""
    return [m.group(0) for m in re.finditer(r"^[A-Za-z0-9].*?(?=^[A-Za-z0-9]|\Z)", text, re.MULTILINE | re.DOTALL)]


PINS = parse_lock(LOCK_TEXT)
LOCK = dict(PINS)
DEPENDENCIES = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
BUILD_REQUIRES = [Requirement(line) for line in PYPROJECT["build-system"]["requires"]]


def applies(requirement: Requirement, extras: set[str] | frozenset[str] = frozenset()) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**IMAGE_ENVIRONMENT, "extra": extra}) for extra in (extras or {""}))


def check_pinned(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in LOCK, f"{requirement.name} is not in requirements.lock: run deploy/lock.sh"
    assert requirement.specifier.contains(LOCK[name], prereleases=True), (
        f"requirements.lock pins {name}=={LOCK[name]}, outside pyproject's {requirement}: run deploy/lock.sh"
    )


@pytest.mark.parametrize(
    "requirement", [r for r in DEPENDENCIES if applies(r)], ids=lambda r: canonicalize_name(r.name)
)
def test_every_dependency_is_locked_within_its_range(requirement: Requirement):
    check_pinned(requirement)


@pytest.mark.parametrize("requirement", BUILD_REQUIRES, ids=lambda r: canonicalize_name(r.name))
def test_build_backend_is_locked(requirement: Requirement):
    """The image builds the project's wheel offline (--no-build-isolation) from the locked setuptools."""
    check_pinned(requirement)


@pytest.mark.parametrize(
    "requirement", [r for r in DEPENDENCIES if r.extras], ids=lambda r: f"{canonicalize_name(r.name)}[extras]"
)
def test_extras_of_dependencies_are_locked(requirement: Requirement):
    """python-telegram-bot[webhooks,job-queue] brings tornado and APScheduler: they must be in the lock too.

    The extras' requirements come from the installed distribution's metadata (the lock pins the same version in a
    venv made by `make setup`); by name only, since their ranges are the dependency's business, not pyproject's.
    """
    try:
        requires = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:
        pytest.fail(f"{requirement.name} is not installed: run `make setup`")
    wanted = [Requirement(r) for r in requires]
    wanted = [r for r in wanted if r.marker is not None and applies(r, requirement.extras) and not applies(r)]
    assert wanted, f"{requirement} names extras that add nothing: {sorted(requirement.extras)}"
    missing = sorted(r.name for r in wanted if canonicalize_name(r.name) not in LOCK)
    assert not missing, f"requirements.lock lacks {missing} (extras of {requirement}): run deploy/lock.sh"


def test_no_package_is_pinned_twice():
    names = [name for name, _ in PINS]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_every_entry_is_exact_and_hashed():
    """pip --require-hashes refuses a lock with an unhashed entry, and a range is no lock."""
    entries = lock_entries(LOCK_TEXT)
    assert len(entries) == len(LOCK) > 0
    unhashed = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
    assert not unhashed, f"entries without a hash: {unhashed}"
    ranges = [entry.split()[0] for entry in entries if not _PIN.match(entry)]
    assert not ranges, f"entries that are not name==version: {ranges}"


def test_lock_holds_no_torch():
    """The default image runs the bundled model on numpy: torch (gigabytes) belongs to the other-model build only."""
    assert not {"torch", "sentence-transformers", "transformers"} & set(LOCK)


def test_dockerfile_other_model_packages_follow_the_model_extra():
    """The Dockerfile installs pyproject's `model` extra by its requirement strings (the deps stage cannot read
    pyproject without rebuilding on every pyproject edit): the strings must be the extra's own."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for line in PYPROJECT["project"]["optional-dependencies"]["model"]:
        assert f"'{line}'" in dockerfile, f"Dockerfile does not install the model extra's {line!r}"
