"""Backwards-compatible import paths (plan 2.2/2.3, 4.1 "Backwards Compatibility"): an old
module path keeps working, re-exports the very same objects, and warns once, pointing at
the importing line. Run in a fresh interpreter so the first import really is the first."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.plugin_support import EXAMPLE_PLUGINS
from tests.servers import ROOT

SCRIPT = f"""
import json, sys, warnings
sys.path.insert(0, {str(EXAMPLE_PLUGINS)!r})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import hello.greetings as old
import hello.models as new
print(json.dumps({{
    "same": old.Greeting is new.Greeting,
    "all": old.__all__,
    "warnings": [
        {{"category": w.category.__name__, "message": str(w.message), "filename": w.filename}}
        for w in caught if "deprecated; import from" in str(w.message)
    ],
}}))
"""


def test_an_old_import_path_works_and_warns() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same"] is True
    assert result["all"] == ["Greeting"]
    assert result["warnings"] == [
        {
            "category": "DeprecationWarning",
            "message": "hello.greetings is deprecated; import from hello.models instead",
            "filename": "<string>",
        }
    ]
