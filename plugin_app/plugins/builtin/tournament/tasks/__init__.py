"""The tournament plugin's scheduled tasks: none.

The tournament system has no periodic work in the spec (the domain's scheduled tasks —
race timeout warnings, auto-forfeit, the hourly re-score — all belong to the async
qualifier system), so the list is empty and the manifest's `provides.tasks` is `[]`. The
package stays as the place for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugin_app.application.plugins import ScheduledTask


def get_tasks() -> Sequence[ScheduledTask]:
    return ()
