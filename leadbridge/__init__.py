"""leadbridge: connector and sync engine between HubSpot and Salesforce for lead nurturing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leadbridge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
