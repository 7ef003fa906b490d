"""The files Éxmado ships, found the same way in a checkout and in an installed wheel.

`config/` (the documented defaults, the profile templates, the demo workbook, redis.conf) and
`supervisord.conf` (the template `exmado up` renders) live at the top of the repository; this
package links to them, and a wheel carries copies (`[tool.setuptools.package-data]`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """The file or folder `parts` names among the shipped files, as a real path on disk."""
    found = files(__name__).joinpath(*parts)
    if not isinstance(found, Path):  # a zipped install: never made by pip or pipx
        raise RuntimeError(f"Éxmado's files must be installed as files, not in {found}.")
    return found
