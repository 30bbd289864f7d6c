"""Checks a release venv against the release it was built for; scripts/setup runs it with that venv's Python.

    python scripts/lib/release_check.py scripts/releases/2026.11.txt custom_components/stream/manifest.json

Fails (exit 1, one line per problem) when
- the installed Home Assistant is not the version the release file pins;
- a pin of the release file disagrees with what that Home Assistant release pins for the same package, in its
  `package_constraints.txt` or in any of its integrations' manifests (the frontend, av, numpy, intents, …);
- an installed version does not satisfy our manifest's requirements.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


def _pins(lines: list[str]) -> dict[str, str]:
    """`name==version` lines (comments, ranges and anything else skipped), by canonical name."""
    pins: dict[str, str] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        specifiers = list(requirement.specifier)
        if len(specifiers) == 1 and specifiers[0].operator == "==":
            pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def _release_pins(ha_dir: Path) -> dict[str, dict[str, str]]:
    """What the installed Home Assistant pins: canonical name -> {version: where}."""
    found: dict[str, dict[str, str]] = {}
    constraints = (ha_dir / "package_constraints.txt").read_text().splitlines()
    for name, version in _pins(constraints).items():
        found.setdefault(name, {}).setdefault(version, "package_constraints.txt")
    for manifest in sorted((ha_dir / "components").glob("*/manifest.json")):
        requirements = json.loads(manifest.read_text()).get("requirements", [])
        for name, version in _pins(requirements).items():
            found.setdefault(name, {}).setdefault(version, f"the {manifest.parent.name} manifest")
    return found


def check(release_file: Path, our_manifest: Path) -> list[str]:
    import homeassistant
    from homeassistant.const import __version__ as ha_version

    problems: list[str] = []
    wanted = _pins(release_file.read_text().splitlines())
    if wanted.get("homeassistant") != ha_version:
        problems.append(
            f"Home Assistant {ha_version} is installed, {release_file.name} pins {wanted.get('homeassistant')}"
        )
    release = _release_pins(Path(homeassistant.__file__).parent)
    for name, version in sorted(wanted.items()):
        for other, where in sorted(release.get(name, {}).items()):
            if other != version:
                problems.append(
                    f"{name}=={version} in {release_file.name}, but Home Assistant {ha_version} pins "
                    f"{name}=={other} in {where}"
                )
    for text in json.loads(our_manifest.read_text())["requirements"]:
        requirement = Requirement(text)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{requirement.name} (our manifest: {text}) is not installed")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{requirement.name} {installed} is installed, our manifest needs {text}")
    return problems


def main() -> int:
    release_file, our_manifest = (Path(arg) for arg in sys.argv[1:3])
    problems = check(release_file, our_manifest)
    for problem in problems:
        print(f"{release_file}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
