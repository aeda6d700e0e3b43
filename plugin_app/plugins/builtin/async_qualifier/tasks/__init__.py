"""The async qualifier system's scheduled tasks: race timeouts and the periodic re-score."""

from .async_qualifier_tasks import TIMED_OUT, TIMEOUT_WARNING, AsyncQualifierTasks

__all__ = ["TIMED_OUT", "TIMEOUT_WARNING", "AsyncQualifierTasks"]
