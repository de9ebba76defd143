"""Errors sorted by what the caller should do: retry (transient) or stop and fix (terminal)."""


class TaxiError(Exception):
    """A terminal failure: retrying cannot help; the message says what and where."""


class NotPublishedError(TaxiError):
    """The mirror answers 404: the month does not exist there."""


class BadSourceFileError(TaxiError):
    """The downloaded or stored file is not a valid month (gzip, header, rows)."""


class LoadRejectedError(TaxiError):
    """The staged month failed a gate; the warehouse month was left as it was."""


class TransientError(Exception):
    """A failure worth retrying with backoff: network hiccups, 5xx, lock timeouts."""
