"""The takeover of the built-in `stream` checks itself: every core module that held one of the built-in's objects
holds ours afterwards, or a warning names the module and what still holds the built-in's (issue 18 req. 3)."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable, Iterator

import homeassistant.components.stream as builtin
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

import custom_components.stream as ours
from custom_components.stream.const import DOMAIN
from custom_components.stream.takeover import take_over_builtin

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

PREFIX = "homeassistant.components.stream_takeover_test_"
TAKEOVER_LOGGER = "custom_components.stream.takeover"


class _FrozenModule(types.ModuleType):
    """A module that refuses assignments (like a read-only or frozen namespace)."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"module {self.__name__!r} is read-only")


class _IgnoringModule(types.ModuleType):
    """A module whose class swallows assignments: `setattr` succeeds and changes nothing."""

    def __setattr__(self, name: str, value: object) -> None:
        return


ALIASED = """
from homeassistant.components.stream import Stream as BuiltinStream, create_stream as make_stream
from homeassistant.components import stream as stream_module

def start(hass, source):
    return make_stream(hass, source, {}, None)
"""
PLAIN = "from homeassistant.components.stream import create_stream, Stream, async_check_stream_client_error\n"
CAPTURED = """
import functools
from homeassistant.components.stream import Stream, create_stream

def make(hass, source, factory=create_stream):
    return factory(hass, source, {}, None)

def make_later(*, check=None, stream_class=Stream):
    return stream_class

def _outer():
    captured = create_stream
    def inner():
        return captured
    return inner

inner = _outer()

class RecordingStream(Stream):
    pass

class Holder:
    factory = create_stream

PARTIAL = functools.partial(create_stream, None)
FACTORIES = {"default": create_stream}

# Annotations name the type; nothing calls it through them.
annotated: Stream = None
"""


@pytest.fixture
def add_core_module(monkeypatch: pytest.MonkeyPatch) -> Callable[..., types.ModuleType]:
    """`add_core_module(suffix, source, module_class=ModuleType)`: a loaded `homeassistant.components.*` module that
    ran `source`, gone again after the test."""

    def add(suffix: str, source: str, module_class: type[types.ModuleType] = types.ModuleType) -> types.ModuleType:
        name = PREFIX + suffix
        module = module_class(name)
        exec(compile(source, f"<{name}>", "exec", dont_inherit=True), vars(module))  # as an import runs it
        monkeypatch.setitem(sys.modules, name, module)
        return module

    return add


@pytest.fixture
def undo_afterwards() -> Iterator[list[Callable[[], None]]]:
    """Undo functions of takeovers a test ran itself (without Home Assistant), called at teardown."""
    undos: list[Callable[[], None]] = []
    yield undos
    for undo in reversed(undos):
        undo()


def _takeover_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == TAKEOVER_LOGGER and r.levelno >= logging.WARNING]


async def test_setup_warns_naming_each_module_it_could_not_take_over(
    hass: HomeAssistant, add_core_module: Callable[..., types.ModuleType], caplog: pytest.LogCaptureFixture
) -> None:
    """Modules added before our integration sets up: the ones it cannot patch are named with what holds the
    built-in's object; the one that imported under other names is taken over and not named."""
    aliased = add_core_module("aliased", ALIASED)
    frozen = add_core_module("frozen", PLAIN, _FrozenModule)
    ignoring = add_core_module("ignoring", PLAIN, _IgnoringModule)
    captured = add_core_module("captured", CAPTURED)
    # Evaluated (and cached in the namespace) when something reads them, e.g. typing.get_type_hints.
    assert captured.__annotations__["annotated"] is builtin.Stream

    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})

    # Imported under other names: found by what the names hold, replaced.
    assert vars(aliased)["make_stream"] is ours.create_stream
    assert vars(aliased)["BuiltinStream"] is ours.Stream
    # The modules that could not be patched still hold the built-in's.
    assert vars(frozen)["create_stream"] is vars(ignoring)["create_stream"] is not ours.create_stream

    warnings = _takeover_warnings(caplog)
    assert len(warnings) == 1, warnings
    warning = warnings[0]
    assert "Could not take over Home Assistant's built-in stream everywhere" in warning
    assert PREFIX + "aliased" not in warning
    for expected in (
        # Read-only: every name it held, with the reason.
        f"{PREFIX}frozen (create_stream, Stream, async_check_stream_client_error: the module refused the new value "
        f"(AttributeError: module '{PREFIX}frozen' is read-only))",
        # Assignment silently ignored.
        f"{PREFIX}ignoring (create_stream, Stream, async_check_stream_client_error: still the built-in's after the "
        "assignment)",
        # Captured where rebinding the module's names cannot reach.
        "make(): the built-in's create_stream as a default argument",
        "make_later(): the built-in's Stream as a default argument",
        "inner(): the built-in's create_stream in its closure",
        "RecordingStream: a subclass of the built-in's Stream",
        "Holder.factory: the built-in's create_stream as a class attribute",
        "PARTIAL: a functools.partial of the built-in's create_stream",
        "FACTORIES: a dict holding the built-in's create_stream",
    ):
        assert expected in warning, warning
    assert "__annotations__" not in warning


async def test_setup_without_such_modules_takes_over_without_warning(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant's own modules (camera, generic, …) as loaded in tests: all taken over, no warning."""
    caplog.set_level(logging.INFO, TAKEOVER_LOGGER)
    assert await async_setup_component(hass, "camera", {})
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})

    assert not _takeover_warnings(caplog)
    assert any(r.getMessage().startswith("Took over Home Assistant's stream integration") for r in caplog.records)
    for name in ("create_stream", "Stream", "async_check_stream_client_error"):
        assert getattr(builtin, name) is getattr(ours, name), name


def test_undo_restores_every_module_it_replaced(
    add_core_module: Callable[..., types.ModuleType], undo_afterwards: list[Callable[[], None]]
) -> None:
    originals = {name: vars(builtin)[name] for name in ("create_stream", "Stream", "async_check_stream_client_error")}
    plain = add_core_module("plain", PLAIN)
    aliased = add_core_module("aliased", ALIASED)

    undo = take_over_builtin({})
    undo_afterwards.append(undo)
    assert vars(plain)["async_check_stream_client_error"] is ours.async_check_stream_client_error
    assert aliased.stream_module.create_stream is ours.create_stream  # `stream.create_stream` at call time
    # The error that check raises is the one its callers catch as `stream.StreamOpenClientError`.
    assert vars(builtin)["StreamOpenClientError"] is ours.StreamOpenClientError
    assert vars(builtin)["StreamClientError"].Unauthorized is ours.StreamClientError.Unauthorized

    undo()
    assert {name: vars(plain)[name] for name in originals} == originals
    assert vars(aliased)["make_stream"] is originals["create_stream"]
    assert {name: vars(builtin)[name] for name in originals} == originals


def test_undo_leaves_a_name_someone_else_rebound_since(
    add_core_module: Callable[..., types.ModuleType], undo_afterwards: list[Callable[[], None]]
) -> None:
    plain = add_core_module("plain", PLAIN)
    undo = take_over_builtin({})
    undo_afterwards.append(undo)

    def other_create_stream() -> None: ...

    vars(plain)["create_stream"] = other_create_stream
    undo()
    assert vars(plain)["create_stream"] is other_create_stream
