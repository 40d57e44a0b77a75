"""Errors flexseg raises for bad input. Each message names the value and says how to fix it.

Example:
    >>> issubclass(SettingsError, ValueError), issubclass(SettingsError, TypeError)
    (True, True)
"""


class FlexsegError(ValueError):
    """Bad input to flexseg: an unknown name, a wrong setting, a malformed file."""


class ConfigError(FlexsegError):
    """A config file or override that flexseg cannot use as written."""


class SettingsError(FlexsegError, TypeError):
    """A model setting that the architecture does not take, is missing, or is out of range."""
