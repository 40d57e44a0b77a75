"""flexseg configs: TOML sections [model], [data], [train], [eval], [infer], validated on load.

Example:
    >>> from flexseg.config import config_from_dict
    >>> config = config_from_dict({"data": {"root": "d", "palette": "mvtec_screw"}})
    >>> config.train["optimizer"], config.data["scale"]
    ('adam', 'raw')
"""

from flexseg.config.loader import Config, ConfigError, config_from_dict, load_config

__all__ = ["Config", "ConfigError", "config_from_dict", "load_config"]
