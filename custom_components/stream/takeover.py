"""Makes Home Assistant's own code create our `Stream` instead of the built-in's.

Camera (and the generic camera's config flow, reolink, …) import `create_stream` and `Stream` from
`homeassistant.components.stream`, which Home Assistant still loads as the built-in package even though our
integration replaced the `stream` domain. We point those names — in the built-in module, so later imports get ours,
and in every module that already imported them — at our implementation, and put them back on unload.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

_LOGGER = logging.getLogger(__name__)

BUILTIN_MODULE = "homeassistant.components.stream"
COMPONENTS_PREFIX = "homeassistant.components."
REPLACED_NAMES = ("create_stream", "Stream")


def take_over_builtin(ours: dict[str, Any]) -> Callable[[], None]:
    """Replace the built-in's `create_stream`/`Stream` everywhere; returns the function that undoes it."""
    import homeassistant.components.stream as builtin

    originals = {name: getattr(builtin, name) for name in REPLACED_NAMES}
    replaced: list[tuple[ModuleType, str, Any]] = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == BUILTIN_MODULE or module_name.startswith(COMPONENTS_PREFIX)):
            continue
        if module_name.startswith(f"{BUILTIN_MODULE}."):
            continue  # the built-in's own submodules keep their internals
        for name in REPLACED_NAMES:
            if module.__dict__.get(name) is originals[name]:
                replaced.append((module, name, originals[name]))
                setattr(module, name, ours[name])
    _LOGGER.info(
        "Took over Home Assistant's stream integration: %s now create this integration's streams",
        ", ".join(sorted({module.__name__ for module, _, _ in replaced})),
    )

    def undo() -> None:
        for module, name, original in replaced:
            if module.__dict__.get(name) is ours[name]:
                setattr(module, name, original)

    return undo
