"""The rules Home Assistant's hassfest applies to a custom integration, checked here (no Home Assistant source
checkout with `script/hassfest` is in the environment, and the pip package does not ship it): manifest.json,
strings.json and translations/en.json, services and the config schema. Written from hassfest's rules, not its code."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from packaging.requirements import Requirement

import custom_components.stream as ours
from custom_components.stream.source.problems import SourceProblem

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "stream"
MANIFEST_KEYS = {
    "domain", "name", "after_dependencies", "codeowners", "config_flow", "dependencies", "documentation",
    "integration_type", "iot_class", "issue_tracker", "quality_scale", "requirements", "single_config_entry",
    "version", "loggers", "import_executor", "dhcp", "zeroconf", "ssdp", "usb", "bluetooth", "homekit", "mqtt",
    "disabled",
}  # fmt: skip
IOT_CLASSES = {"assumed_state", "cloud_polling", "cloud_push", "local_polling", "local_push", "calculated"}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
QUALITY_SCALES = {"internal", "silver", "gold", "platinum"}
VERSION_STRATEGIES = {
    AwesomeVersionStrategy.CALVER, AwesomeVersionStrategy.SEMVER, AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER, AwesomeVersionStrategy.PEP440,
}  # fmt: skip
SECTIONS = {
    "title", "config", "config_subentries", "options", "selector", "device_automation", "system_health",
    "application_credentials", "issues", "entity_component", "device", "entity", "exceptions", "services",
    "conditions", "triggers", "common", "preview_features", "config_panel", "conversation",
}  # fmt: skip
FLOW_KEYS = {"flow_title", "step", "error", "abort", "progress", "create_entry", "initiate_flow"}
STEP_KEYS = {"title", "description", "data", "data_description", "menu_options", "menu_option_descriptions", "submit",
             "sections"}  # fmt: skip
# A translation key: lowercase letters, digits, - and _; neither at either end, never two in a row.
TRANSLATION_KEY = re.compile(r"[a-z0-9]([a-z0-9]|[-_](?=[a-z0-9]))*")
SLUG = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")
HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
URL = re.compile(r"\b(?:https?|ftps?|mqtts?|wss?)://|\bwww\.", re.IGNORECASE)
QUOTED_PLACEHOLDER = re.compile(r"'\{\w+\}'")


def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _strings(name: str) -> dict[str, Any]:
    strings: dict[str, Any] = json.loads((INTEGRATION / name).read_text(encoding="utf-8"))
    return strings


def test_manifest() -> None:
    manifest = _manifest()
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])  # hassfest wants domain, name, then the rest sorted
    assert set(keys) <= MANIFEST_KEYS
    assert manifest["domain"] == INTEGRATION.name == ours.DOMAIN
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert manifest["quality_scale"] in QUALITY_SCALES
    for url in (manifest["documentation"], manifest["issue_tracker"]):
        assert url.startswith("https://")
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for requirement in manifest["requirements"]:
        Requirement(requirement)  # raises on anything pip would not parse
    dependencies, after = set(manifest["dependencies"]), set(manifest["after_dependencies"])
    assert not dependencies & after
    assert ours.DOMAIN not in dependencies | after
    assert all(SLUG.fullmatch(domain) for domain in dependencies | after)
    # Custom integrations must carry a version Home Assistant can compare.
    assert AwesomeVersion(manifest["version"]).strategy in VERSION_STRATEGIES
    assert manifest["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    assert isinstance(manifest["single_config_entry"], bool)


def test_config_schema_with_config_flow() -> None:
    """An integration with a config flow that sets up from YAML must say so with a CONFIG_SCHEMA."""
    assert hasattr(ours, "async_setup")
    assert ours.CONFIG_SCHEMA is not None


def test_services_need_services_yaml() -> None:
    registers = [
        path
        for path in INTEGRATION.rglob("*.py")
        if re.search(r"services\.async_register|async_register_(admin_)?service", path.read_text(encoding="utf-8"))
    ]
    assert registers == [] or (INTEGRATION / "services.yaml").is_file()


def test_translations_are_identical() -> None:
    assert _strings("strings.json") == _strings("translations/en.json")


@pytest.mark.parametrize("name", ["strings.json", "translations/en.json"])
def test_translation_file(name: str) -> None:
    strings = _strings(name)
    assert set(strings) <= SECTIONS
    _check_flow(strings["config"])
    for key, issue in strings["issues"].items():
        assert TRANSLATION_KEY.fullmatch(key), key
        assert "title" in issue
        assert ("description" in issue) != ("fix_flow" in issue)
        assert set(issue) <= {"title", "description", "fix_flow"}
    for key, exception in strings["exceptions"].items():
        assert SLUG.fullmatch(key), key
        assert set(exception) <= {"message"}
    for path, value in _values(strings):
        _check_value(path, value)


def _check_flow(flow: dict[str, Any]) -> None:
    assert set(flow) <= FLOW_KEYS
    assert "step" in flow  # hassfest refuses `abort` or `error` without `step`
    for step_id, step in flow["step"].items():
        assert TRANSLATION_KEY.fullmatch(step_id)
        assert set(step) <= STEP_KEYS
        assert set(step.get("data_description", {})) <= set(step.get("data", {}))
    for section in ("abort", "error", "progress", "create_entry"):
        assert all(isinstance(text, str) for text in flow.get(section, {}).values())


def _values(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [pair for key, child in node.items() for pair in _values(child, f"{path}.{key}")]
    assert isinstance(node, str), path
    return [(path, node)]


def _check_value(path: str, value: str) -> None:
    assert value == value.strip(), path
    assert not HTML.search(value), path
    assert not URL.search(value), path  # URLs go in placeholders
    assert not QUOTED_PLACEHOLDER.search(value), path
    for _, field, _, _ in string.Formatter().parse(value):
        assert field is None or field.isidentifier(), path
    assert "[%key:" not in value or value.startswith("[%key:"), path  # references are whole values


def test_every_translation_key_used_exists() -> None:
    strings = _strings("strings.json")
    assert {str(problem) for problem in SourceProblem} <= set(strings["issues"])
    used = set()
    for path in INTEGRATION.rglob("*.py"):
        used |= set(re.findall(r'translation_key="([a-z_]+)"', path.read_text(encoding="utf-8")))
        used |= set(re.findall(r'_refusal\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert {"path_not_allowed", "already_recording"} <= used  # the search finds the recorder's keys
    assert used <= set(strings["exceptions"]) | set(strings["issues"])
