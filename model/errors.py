"""The model's one error: a configuration it cannot be built with. Its own
module so that model/config.py and model/workloads.py both raise it without
importing each other."""


class ConfigError(ValueError):
    """A configuration the model cannot be built with (a usage error, exit 2)."""
