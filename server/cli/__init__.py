"""The ``switchboard`` command line."""

from server.cli.main import app

__all__ = ["app"]
