"""DocuWare-compatible sandbox server with seeded data and switchable faults (stdlib only)."""

from exmado_tui.sandbox.config import AUTH_MODES, Faults, FaultSettings, SandboxConfig
from exmado_tui.sandbox.data import Catalogue
from exmado_tui.sandbox.server import SandboxServer, running

__all__ = [
    "AUTH_MODES",
    "Catalogue",
    "FaultSettings",
    "Faults",
    "SandboxConfig",
    "SandboxServer",
    "running",
]
