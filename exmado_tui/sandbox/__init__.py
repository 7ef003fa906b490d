"""DocuWare-compatible sandbox server with seeded data and switchable faults (stdlib only)."""

from exmado_tui.sandbox.config import Faults, FaultSettings, SandboxConfig
from exmado_tui.sandbox.data import Catalogue
from exmado_tui.sandbox.server import SandboxServer

__all__ = [
    "Catalogue",
    "FaultSettings",
    "Faults",
    "SandboxConfig",
    "SandboxServer",
]
