"""Errors that are the user's to fix.

The CLI prints these as one line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a missing path, unusable seeds, an unknown skill, an unreachable endpoint."""
