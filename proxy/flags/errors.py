"""Why a flag change was refused. The operator API turns these into 4xx JSON and the CLI
into one-line messages; each message is the whole story for the operator.

    FlagsError                 (a flag change was refused)            -> 400
    ├── InvalidChange          (the request names an unknown flag, mode, organization)
    ├── DocumentError          (a candidate document is malformed or wrong; nothing written)
    ├── FlagsFileError         (the live file on disk is broken; nothing built on it) -> 409
    └── GateRefused            (the cutover gate did not pass)                      -> 409
"""

from __future__ import annotations


class FlagsError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidChange(FlagsError):
    pass


class DocumentError(FlagsError):
    pass


class FlagsFileError(FlagsError):
    status_code = 409


class GateRefused(FlagsError):
    status_code = 409
