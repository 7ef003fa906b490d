"""How a workbook's column headers and a profile's column names are compared.

Apart from the workbook reader so that profiles and templates use it without loading openpyxl.
"""

from __future__ import annotations

import unicodedata
from typing import Any


def normalise_header(text: Any) -> str:
    """Header text for matching: no accents, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())
