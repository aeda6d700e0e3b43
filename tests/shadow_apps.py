"""plugin_app as the shadow tests run it in a server process (imports kept to the app):

tests.shadow_apps:slow_plugin_app     plugin_app answering SHADOW_DELAY_S later
tests.shadow_apps:changed_plugin_app  plugin_app imported from SHADOW_PLUGIN_ROOT, a
                                      patched copy of the package made by
                                      tests.shadow_support.changed_plugin
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any


async def slow_plugin_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """plugin_app itself, answering every HTTP request SHADOW_DELAY_S later."""
    from plugin_app.main import app as plugin

    if scope["type"] == "http" and scope["path"] != "/healthz":
        await asyncio.sleep(float(os.environ.get("SHADOW_DELAY_S", "0.2")))
    await plugin(scope, receive, send)


def _changed_plugin() -> Any:
    root = os.environ.get("SHADOW_PLUGIN_ROOT")
    if not root:
        return None
    # The copy goes first on the path, so `plugin_app` is the patched one while `core` (and
    # everything else) is the real one.
    sys.path.insert(0, root)
    from plugin_app.main import app as changed

    loaded_from = Path(sys.modules["plugin_app"].__file__ or "").resolve()
    if not loaded_from.is_relative_to(Path(root).resolve()):
        raise RuntimeError(f"plugin_app was imported from {loaded_from}, not from the copy in {root}")
    return changed


changed_plugin_app = _changed_plugin()
