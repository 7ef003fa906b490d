"""DocuWare-compatible sandbox server with seeded data and switchable faults (stdlib only).

The names below are imported on first use: `exmado` mounts `exmado sandbox`'s parser (cli.py)
at every start, which need not import the server and its data (0.03 s of a 0.18 s start).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exmado_tui.sandbox.config import Faults as Faults
    from exmado_tui.sandbox.config import FaultSettings as FaultSettings
    from exmado_tui.sandbox.config import SandboxConfig as SandboxConfig
    from exmado_tui.sandbox.data import Catalogue as Catalogue
    from exmado_tui.sandbox.server import SandboxServer as SandboxServer

# The public names and their modules, `__all__` made of it; the imports above give type checkers
# their types.
_MODULE_OF = {
    "Catalogue": "data",
    "FaultSettings": "config",
    "Faults": "config",
    "SandboxConfig": "config",
    "SandboxServer": "server",
}
__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> object:
    """One of `__all__`, imported from its module when first asked for (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
