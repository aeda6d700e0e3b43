"""Flags: the document strangler writes, its validation, the one write path, the audit log."""
