"""Makes Home Assistant's own code create our `Stream` instead of the built-in's, and checks that it did.

Camera (and the generic camera's config flow, reolink, tplink, …) use `create_stream`, `Stream` and
`async_check_stream_client_error` (with the `StreamOpenClientError`/`StreamClientError` it raises) from
`homeassistant.components.stream`, which Home Assistant still loads as the built-in package even though our
integration replaced the `stream` domain. We point those names — in the built-in module, so later imports get ours,
and in every core module that already imported them (found by what each module's namespace holds, under any name) —
at our implementation, and put them back on unload.

Then the takeover checks itself: a module that refused the new value (read-only attribute, frozen namespace) or that
keeps the built-in's object somewhere a module-level rebinding cannot reach (a function's default argument or
closure, a class attribute, a subclass of the built-in `Stream`, a `functools.partial`, a container) would still run
the built-in's code, which nothing set up. Each such module is named in one warning, with what holds the object.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from types import FunctionType
from typing import Any

_LOGGER = logging.getLogger(__name__)

BUILTIN_MODULE = "homeassistant.components.stream"
COMPONENTS_PREFIX = "homeassistant.components."
# (module name, module, attribute, the built-in's object, ours): one rebinding, for the undo.
type Replacement = tuple[str, object, str, Any, Any]
# The error `async_check_stream_client_error` raises goes with it: its callers (tplink) catch
# `stream.StreamOpenClientError` and compare `error_code` with `stream.StreamClientError` members.
REPLACED_NAMES = (
    "create_stream",
    "Stream",
    "async_check_stream_client_error",
    "StreamOpenClientError",
    "StreamClientError",
)


def take_over_builtin(ours: Mapping[str, Any]) -> Callable[[], None]:
    """Replace the built-in's objects named in REPLACED_NAMES everywhere, log a warning naming every module still
    holding one of them; returns the function that undoes the replacement.

    `ours` maps those names to our objects; a name it leaves out is taken from this package's public API."""
    import homeassistant.components.stream as builtin

    ours = {**_our_public_names(), **ours}
    builtin_names = vars(builtin)
    originals = {
        name: builtin_names[name]
        for name in REPLACED_NAMES
        # Already ours: a second takeover without undo (nothing to find by identity then).
        if name in builtin_names and builtin_names[name] is not ours[name]
    }
    replaced: list[Replacement] = []
    problems: dict[str, str] = {}
    for module_name, module in _core_modules():
        namespace = _namespace(module)
        if namespace is None:
            continue
        found = _take_over_module(module_name, module, namespace, originals, ours, replaced)
        if module_name != BUILTIN_MODULE:
            found.extend(_captured(module_name, namespace, originals))
        if found:
            problems[module_name] = _grouped(found)
    _report(replaced, problems)

    def undo() -> None:
        for _, module, attr, original, our_value in replaced:
            if vars(module).get(attr) is our_value:
                setattr(module, attr, original)

    return undo


def _take_over_module(
    module_name: str,
    module: object,
    namespace: dict[str, Any],
    originals: Mapping[str, Any],
    ours: Mapping[str, Any],
    replaced: list[Replacement],
) -> list[tuple[str, str]]:
    """Rebind every name of the module that holds a built-in object to ours (recorded in `replaced`); returns
    (what, why) for each one that did not take."""
    found: list[tuple[str, str]] = []
    for attr, value in list(namespace.items()):
        name = _original_name(value, originals)
        if name is None:
            continue
        try:
            setattr(module, attr, ours[name])
        except (AttributeError, TypeError) as err:
            found.append((attr, f"the module refused the new value ({type(err).__name__}: {err})"))
            continue
        if namespace.get(attr) is not ours[name]:
            # A module class whose __setattr__ ignores or redirects the assignment: its own code still reads the
            # built-in's (functions read globals from this namespace).
            found.append((attr, "still the built-in's after the assignment"))
            continue
        replaced.append((module_name, module, attr, value, ours[name]))
        if _read_back(module, attr) is not ours[name]:
            found.append((attr, "other modules still read the built-in's (the module's class answers for it)"))
    return found


def _report(replaced: list[Replacement], problems: Mapping[str, str]) -> None:
    _LOGGER.info(
        "Took over Home Assistant's stream integration: %s now create this integration's streams",
        ", ".join(sorted({module_name for module_name, *_ in replaced})) or "no module",
    )
    if problems:
        _LOGGER.warning(
            "Could not take over Home Assistant's built-in stream everywhere (Home Assistant %s): %s. These still "
            "run the built-in stream's code, which this integration replaced and nothing set up: streams they make "
            "may fail. See the README for the Home Assistant releases this integration is tested with",
            _ha_version(),
            "; ".join(f"{module_name} ({found})" for module_name, found in sorted(problems.items())),
        )


def _our_public_names() -> dict[str, Any]:
    package = importlib.import_module(__name__.rpartition(".")[0])
    return {name: getattr(package, name) for name in REPLACED_NAMES}


def _core_modules() -> Iterator[tuple[str, object]]:
    """The built-in package first, then every loaded `homeassistant.components.*` module but its own submodules."""
    yield BUILTIN_MODULE, sys.modules[BUILTIN_MODULE]
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(COMPONENTS_PREFIX):
            continue
        if module_name == BUILTIN_MODULE or module_name.startswith(f"{BUILTIN_MODULE}."):
            continue  # the built-in's own submodules keep their internals
        yield module_name, module


def _namespace(module: object) -> dict[str, Any] | None:
    """What the module's own code reads its globals from (None: not a module-like object)."""
    try:
        namespace = vars(module)
    except TypeError:
        return None
    return namespace if isinstance(namespace, dict) else None


def _original_name(value: object, originals: Mapping[str, Any]) -> str | None:
    for name, original in originals.items():
        if value is original:
            return name
    return None


def _name_of(original: object, originals: Mapping[str, Any]) -> str:
    name = _original_name(original, originals)
    assert name is not None
    return name


def _grouped(found: list[tuple[str, str]]) -> str:
    """`a, b: why; c: other reason`: names that share a reason together, in the order found."""
    by_reason: dict[str, list[str]] = {}
    for what, why in found:
        by_reason.setdefault(why, []).append(what)
    return "; ".join(f"{', '.join(whats)}: {why}" for why, whats in by_reason.items())


def _read_back(module: object, attr: str) -> object:
    """The attribute as `from module import attr` (or `module.attr`) in other code gets it."""
    try:
        return getattr(module, attr)
    except Exception:
        return None


def _captured(
    module_name: str, namespace: Mapping[str, Any], originals: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """Where objects defined in the module keep a built-in object that rebinding the module's names cannot change.
    Dunder names are Python's bookkeeping (`__annotations__` holds the types annotations name, not code's objects)."""
    for attr, value in list(namespace.items()):
        if attr.startswith("__") and attr.endswith("__"):
            continue
        if isinstance(value, FunctionType) and value.__module__ == module_name:
            yield from _captured_by_function(attr, value, originals)
        elif isinstance(value, type) and value.__module__ == module_name:
            yield from _captured_by_class(attr, value, originals)
        elif isinstance(value, functools.partial) and _original_name(value.func, originals) is not None:
            yield attr, f"a functools.partial of the built-in's {_name_of(value.func, originals)}"
        elif (held := _held_by_container(value, originals)) is not None:
            yield attr, f"a {type(value).__name__} holding the built-in's {held}"


def _captured_by_function(
    label: str, function: FunctionType, originals: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    for default in (*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()):
        if (name := _original_name(default, originals)) is not None:
            yield f"{label}()", f"the built-in's {name} as a default argument"
    for cell in function.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if (name := _original_name(contents, originals)) is not None:
            yield f"{label}()", f"the built-in's {name} in its closure"


def _captured_by_class(label: str, cls: type, originals: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for original_name, original in originals.items():
        if isinstance(original, type) and cls is not original and original in cls.__mro__:
            yield label, f"a subclass of the built-in's {original_name}"
    for attr, value in vars(cls).items():
        if (name := _original_name(value, originals)) is not None:
            yield f"{label}.{attr}", f"the built-in's {name} as a class attribute"
            continue
        function = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if isinstance(function, FunctionType):
            yield from _captured_by_function(f"{label}.{attr}", function, originals)


def _held_by_container(value: object, originals: Mapping[str, Any]) -> str | None:
    if isinstance(value, dict):
        items: tuple[object, ...] = tuple(value.values())
    elif isinstance(value, (tuple, list, set, frozenset)):
        items = tuple(value)
    else:
        return None
    for item in items:
        if (name := _original_name(item, originals)) is not None:
            return name
    return None


def _ha_version() -> str:
    from homeassistant.const import __version__

    return __version__
