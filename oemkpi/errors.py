"""The one exception type a user can cause.

Anything a person can get wrong (a bad month, a missing file, a malformed
reference table) raises :class:`OemkpiError` with one sentence that names the
thing and says what to do. The CLI prints that sentence and exits non-zero;
any other exception is a bug and keeps its traceback.
"""


class OemkpiError(Exception):
    """A user-facing error: ``str(err)`` is one complete sentence."""
