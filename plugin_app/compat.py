"""Backwards-compatible import paths (plan 2.2/2.3).

When code moves into a plugin, its old module stays as a thin alias that warns and
re-exports the new one's names. The port of a system writes one line per old module:

    # plugin_app/models/match_schedule.py
    \"\"\"DEPRECATED: import from plugin_app.plugins.builtin.tournament.models.\"\"\"
    from plugin_app.compat import reexport_moved

    __all__ = reexport_moved(__name__, "plugin_app.plugins.builtin.tournament.models",
                             ["Tournament", "Match", ...])

The DeprecationWarning is raised when the old module is first imported, pointing at the
importing line; the names are the very same objects (one class per table, never a copy).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Sequence


def reexport_moved(old_module: str, new_module: str, names: Sequence[str]) -> list[str]:
    """Warn that `old_module` moved to `new_module` and copy `names` into it; returns `__all__`."""
    warnings.warn(
        f"{old_module} is deprecated; import from {new_module} instead",
        DeprecationWarning,
        # 1: here, 2: the alias module's body, 3: the importing line (the warnings module
        # skips the import machinery's frames on its own).
        stacklevel=3,
    )
    target = importlib.import_module(new_module)
    namespace = vars(sys.modules[old_module])
    for name in names:
        namespace[name] = getattr(target, name)
    return list(names)
