"""News alert monitor: feeds → rules → notifiers."""

__version__ = "0.1.0"
