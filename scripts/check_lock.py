#!/usr/bin/env python3
"""Check that the lock files still cover pyproject.toml: ``python scripts/check_lock.py``.

``make install`` installs exactly what ``requirements-dev.lock`` pins and then Comptoir itself
without its dependencies (``--no-deps``), so a dependency added to pyproject.toml (by a merge,
say) and not locked would simply be missing at run time. This check runs after every install
(the Makefile) and in the test suite (tests/test_lock.py). It fails, naming each problem, when

- a dependency of ``[project.dependencies]`` is not pinned in requirements.lock, or a
  dependency of an optional group (``dev``) is not pinned in requirements-dev.lock;
- a pinned version does not satisfy the range pyproject.toml asks for;
- requirements-dev.lock pins a production dependency at another version than
  requirements.lock (the tests must run what production runs).

The fix is always ``make lock`` (docs/production.md, "Dependencies").
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
# `name==version`, an optional `; marker`, and the line continuation before the hashes.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    line: int


def read_pins(text: str) -> dict[str, list[Pin]]:
    """Pins by canonical name; a universal lock may pin one package twice, under markers
    (e.g. one numpy for Python 3.11, a newer one from 3.12 on)."""
    pins: dict[str, list[Pin]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            pins.setdefault(name, []).append(Pin(name, Version(match["version"]), number))
    return pins


def requirements(pyproject: Mapping[str, object]) -> tuple[list[str], dict[str, list[str]]]:
    """The project's dependencies and its optional groups, as written."""
    project = pyproject.get("project")
    if not isinstance(project, dict):
        raise ValueError("pyproject.toml has no [project] table")
    return list(project.get("dependencies", [])), dict(project.get("optional-dependencies", {}))


def uncovered(wanted: Iterable[str], pins: Mapping[str, list[Pin]], lock: str) -> list[str]:
    """What of ``wanted`` the lock does not pin, or pins outside the asked range."""
    problems = []
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        found = pins.get(name)
        if not found:
            problems.append(f"{requirement} is not pinned in {lock}")
            continue
        for pin in found:
            if not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(
                    f"{lock} line {pin.line} pins {pin.name}=={pin.version}, "
                    f"outside what pyproject.toml asks for ({requirement})"
                )
    return problems


def disagreements(pins: Mapping[str, list[Pin]], dev_pins: Mapping[str, list[Pin]]) -> list[str]:
    """Production pins that the dev lock (the tests) pins at other versions."""
    problems = []
    for name, found in sorted(pins.items()):
        versions = sorted({pin.version for pin in found})
        dev_versions = sorted({pin.version for pin in dev_pins.get(name, [])})
        if versions != dev_versions:
            problems.append(
                f"{name}: {LOCK} pins {', '.join(map(str, versions))} but {DEV_LOCK} pins "
                f"{', '.join(map(str, dev_versions)) or 'nothing'}"
            )
    return problems


def check(root: Path = ROOT) -> list[str]:
    """Every problem found, empty when the locks cover pyproject.toml."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    runtime, optional = requirements(pyproject)
    problems = []
    texts = {}
    for lock in (LOCK, DEV_LOCK):
        path = root / lock
        if not path.exists():
            problems.append(f"{lock} is missing")
        else:
            texts[lock] = path.read_text(encoding="utf-8")
    if problems:
        return problems
    pins, dev_pins = read_pins(texts[LOCK]), read_pins(texts[DEV_LOCK])
    problems += uncovered(runtime, pins, LOCK)
    problems += uncovered([r for group in optional.values() for r in group], dev_pins, DEV_LOCK)
    problems += disagreements(pins, dev_pins)
    return problems


def main(argv: list[str]) -> int:
    """``check_lock.py [PROJECT_DIR]`` (default: this checkout)."""
    problems = check(Path(argv[0]) if argv else ROOT)
    if not problems:
        print(f"{LOCK} and {DEV_LOCK} cover pyproject.toml.")
        return 0
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    print(
        "The lock files are behind pyproject.toml: run `make lock` and commit them "
        "(docs/production.md, Dependencies).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
