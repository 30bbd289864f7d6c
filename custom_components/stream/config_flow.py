"""The one config entry of the integration: it carries no settings (those stay in YAML) and exists so that Home
Assistant offers this integration's diagnostics for download."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN

ENTRY_TITLE = "Stream"


class StreamConfigFlow(ConfigFlow, domain=DOMAIN):
    """Creates the entry at once; Home Assistant refuses a second one (`single_config_entry`)."""

    VERSION = 1

    async def async_step_import(self, import_data: dict[str, Any]) -> ConfigFlowResult:
        """Created by `async_setup` on every start until the entry exists."""
        return self.async_create_entry(title=ENTRY_TITLE, data={})

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Added from the UI again after the user deleted it."""
        return self.async_create_entry(title=ENTRY_TITLE, data={})
