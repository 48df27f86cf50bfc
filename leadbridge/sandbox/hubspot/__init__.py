"""In-memory HubSpot portal model behind the sandbox emulator (pure, no HTTP)."""

from .batch import BatchResult
from .errors import HubSpotError
from .portal import HubSpotPortal

__all__ = ["BatchResult", "HubSpotError", "HubSpotPortal"]
