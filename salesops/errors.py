"""Errors a user can act on. The command line prints them as one line, never a traceback."""


class SalesopsError(Exception):
    """A problem the user can fix; the message says what to do next."""


class ConfigError(SalesopsError):
    """Settings are missing or wrong."""


class DatabaseUnreachable(SalesopsError):
    """The configured database does not answer."""


class DataDirError(SalesopsError):
    """The data folder is from another version, corrupted, or in use."""
