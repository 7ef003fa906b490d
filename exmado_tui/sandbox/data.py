"""Seeded, deterministic catalogue of invoice and personnel documents, with helpers for tests.

Layout of the data (same seed and size → same data, independent of the platform):

* Invoices: invoice numbers run from 100001 upwards without gaps. Every 25th invoice *number*
  (100025, 100050, …) is carried by 2 or 3 documents; every other number by exactly one. Numbers
  above the last one (``missing_invoice_numbers``) never match anything.
* Every 10th invoice document has 2-3 sections (PDF + image/Office file or a second PDF), so
  ``FileDownload?targetFileType=Auto`` answers a ZIP for it. Single-section documents are PDFs,
  except every 97th (PNG), 89th (TIFF), 83rd (.docx) and 79th (.xlsx) document id.
* STATUS is empty on every 50th document; NOTES is empty on two documents in three and very
  long (>6000 characters) on ids ending in 07; suppliers include "Müller & Söhne GmbH",
  "A/B Corp", "Smith (UK) Ltd" and "Star*Mart".
* Personnel: employee numbers are six-digit text with leading zeros ("000123"); each employee
  has 1-3 documents (DOC_TYPE Contract, Payslip, Certificate or Review).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from exmado_tui.sandbox import files, schema
from exmado_tui.sandbox.schema import Document, Section

INVOICE_BASE = 100000
SEVERAL_EVERY = 25
MULTI_SECTION_EVERY = 10
EPOCH_START = dt.date(2019, 1, 1)
DAY_MS = 86_400_000

Rng = Callable[[], float]

SUPPLIERS = (
    "Peters Engineering",
    "Müller & Söhne GmbH",
    "A/B Corp",
    "Smith (UK) Ltd",
    "Star*Mart",
    "Nordwind Logistik AG",
    "Café Olé SARL",
    "Ørsted Ærø A/S",
    "Globex Corporation",
    "Initech Ltd",
    "Umbrella Supplies",
    "Hooli Europe BV",
    "Stark Industries",
    "Wayne Enterprises",
    "Acme Office Supplies",
    "Fabrikam Inc",
    "Contoso Ltd",
    "Tailspin Toys",
    "Żółć Sp. z o.o.",
    "O'Brien & Partners",
    "Dupont-Lefèvre SA",
    "Schäfer Büroservice",
    "North Wind Traders",
    "Litware Inc",
    "Adventure Works",
)
STATUSES = ("Open", "Paid", "Paid", "Paid", "Overdue", "Disputed")
TAG_POOL = ("urgent", "q1", "q2", "q3", "q4", "reviewed", "disputed", "recurring", "import", "eu")
FIRST_NAMES = (
    "Anna",
    "José",
    "Zoë",
    "Jürgen",
    "Marie-Claire",
    "Søren",
    "Li",
    "Fatima",
    "Ólafur",
    "Grace",
    "Tomás",
    "Noémie",
    "Ahmed",
    "Ines",
    "Pål",
)
LAST_NAMES = (
    "Müller",
    "Núñez",
    "O'Connor",
    "Groß",
    "Dubois",
    "Kowalski",
    "Nakamura",
    "Øberg",
    "Smith",
    "García",
    "Van der Berg",
    "Çelik",
    "Rossi",
    "Andersson",
    "Ng",
)
DEPARTMENTS = ("Finance", "HR", "Sales", "IT", "R&D", "Operations/Logistics", "Legal")
DOC_TYPES = ("Contract", "Payslip", "Certificate", "Review")


def date_ms(day: dt.date) -> int:
    """Midnight UTC of a date as milliseconds since the epoch."""
    return (day - dt.date(1970, 1, 1)).days * DAY_MS


class Catalogue:
    """All documents of the sandbox, generated from a seed; thread-safe for field updates."""

    def __init__(self, seed: int = 42, documents: int = 20000, personnel: int | None = None):
        self.seed = seed
        self.lock = threading.RLock()
        self.version = 0
        self._invoice_count = documents
        self._personnel_count = personnel if personnel is not None else max(1, documents // 10)
        self._docs: dict[str, list[Document]] = {
            schema.INVOICES_ID: _invoices(seed, documents),
            schema.PERSONNEL_ID: _personnel(seed, self._personnel_count),
        }
        self._keys = _invoice_keys(self._docs[schema.INVOICES_ID])
        self._deleted: set[tuple[str, int]] = set()  # (cabinet id, document id)

    invoice_cabinet_id = schema.INVOICES_ID
    personnel_cabinet_id = schema.PERSONNEL_ID

    def documents(self, cabinet: str) -> list[Document]:
        """All documents of a cabinet (id or name) in id order; empty for unknown cabinets."""
        docs = self._docs.get(_canonical(cabinet), [])
        if not self._deleted:
            return docs
        return [d for d in docs if (d.cabinet_id, d.id) not in self._deleted]

    def document(self, cabinet: str, doc_id: int) -> Document | None:
        """One document by cabinet (id or name) and id (ids run from 1; deleted ones leave
        their gap)."""
        docs = self._docs.get(_canonical(cabinet), [])
        found = docs[doc_id - 1] if 1 <= doc_id <= len(docs) else None
        return None if found is None or (found.cabinet_id, doc_id) in self._deleted else found

    def known_document(self, cabinet: str, doc_id: int) -> Document:
        """A document whose id came from this catalogue (an index, a result list)."""
        found = self.document(cabinet, doc_id)
        if found is None:
            raise LookupError(f"no document {doc_id} in {cabinet}")
        return found

    def delete(self, doc: Document) -> None:
        """Remove a document (`DELETE …/Documents/{id}`): found no more, by id or search."""
        with self.lock:
            self._deleted.add((doc.cabinet_id, doc.id))
            self.version += 1

    def update(self, doc: Document, values: dict[str, Any], now_ms: int) -> None:
        """Change index values of a document; invalidates search indexes."""
        with self.lock:
            doc.values.update(values)
            doc.modified_ms = now_ms
            self.version += 1

    def add_invoice(self, values: dict[str, Any], now_ms: int) -> Document:
        """A new invoice stored now (`POST /_sandbox/documents`): the one the seed would make
        for its id, with `values` over its index values."""
        with self.lock:
            docs = self._docs[schema.INVOICES_ID]
            doc_id = len(docs) + 1
            number = str(INVOICE_BASE + len(self._keys) + 1)
            made = _invoice(random.Random(f"{self.seed}:added:{doc_id}").random, doc_id, number)
            made.values.update(values)
            made.created_ms = made.modified_ms = now_ms
            docs.append(made)
            self._keys.setdefault(str(made.values["INVOICE_NO"]), []).append(doc_id)
            self.version += 1
            return made

    # ---- helpers for tests and demo data -------------------------------------------------

    def invoice_numbers_with_hits(self, n: int) -> list[str]:
        """n invoice numbers that match exactly one document, spread over the range."""
        singles = [k for k, ids in self._keys.items() if len(ids) == 1]
        step = max(1, len(singles) // max(1, n))
        return singles[::step][:n]

    def invoice_numbers_with_several_hits(self) -> list[str]:
        """Every invoice number carried by two or more documents."""
        return [k for k, ids in self._keys.items() if len(ids) > 1]

    def missing_invoice_numbers(self, k: int) -> list[str]:
        """k invoice numbers above the generated range: they match nothing."""
        top = INVOICE_BASE + len(self._keys)
        return [str(top + 1 + i) for i in range(k)]

    def employee_numbers(self, n: int | None = None) -> list[str]:
        """Employee numbers that exist (six digits with leading zeros), the first n if given."""
        numbers = dict.fromkeys(
            d.values["EMPLOYEE_NO"] for d in self.documents(schema.PERSONNEL_ID)
        )
        return list(numbers)[:n] if n is not None else list(numbers)

    def documents_for(
        self, field_name: str, value: Any, cabinet: str = "Invoices"
    ) -> list[Document]:
        """Documents whose field equals value (text compared case-insensitively; keywords: any)."""
        cab = _cabinet_by_name(cabinet)
        return [d for d in self.documents(cab.id) if _equals(d.value(field_name.upper()), value)]

    def multi_section_documents(self, n: int | None = None) -> list[Document]:
        """Invoice documents with more than one section (ZIP under targetFileType=Auto)."""
        docs = [d for d in self.documents(schema.INVOICES_ID) if len(d.sections) > 1]
        return docs[:n] if n is not None else docs

    def documents_of_kind(self, kind: str, n: int | None = None) -> list[Document]:
        """Single-section invoice documents whose file is of a kind: pdf, png, tiff, docx, xlsx."""
        docs = [
            d
            for d in self.documents(schema.INVOICES_ID)
            if len(d.sections) == 1 and d.sections[0].kind == kind
        ]
        return docs[:n] if n is not None else docs

    def __iter__(self) -> Iterator[Document]:
        for docs in self._docs.values():
            yield from docs


def _canonical(cabinet: str) -> str:
    found = schema.cabinet(cabinet) or next(
        (c for c in schema.CABINETS if c.name.lower() == cabinet.lower()), None
    )
    return found.id if found else cabinet


def _cabinet_by_name(name: str) -> schema.CabinetDef:
    for cab in schema.CABINETS:
        if name.lower() in (cab.name.lower(), cab.id.lower()):
            return cab
    raise KeyError(f"no cabinet named {name!r}")


def _equals(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, list):
        return any(_equals(item, wanted) for item in actual)
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    return actual == wanted


def _invoice_keys(docs: list[Document]) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = {}
    for doc in docs:
        keys.setdefault(doc.values["INVOICE_NO"], []).append(doc.id)
    return keys


def _invoices(seed: int, count: int) -> list[Document]:
    rng = random.Random(f"{seed}:invoices").random
    docs: list[Document] = []
    key = 0
    while len(docs) < count:
        key += 1
        copies = 1 if key % SEVERAL_EVERY else 2 + _below(rng, 2)
        for _ in range(min(copies, count - len(docs))):
            docs.append(_invoice(rng, len(docs) + 1, str(INVOICE_BASE + key)))
    return docs


def _below(rng: Rng, n: int) -> int:
    """A uniform integer in [0, n) from one call of a fast float generator."""
    return int(rng() * n)


def _pick(rng: Rng, options: tuple[Any, ...]) -> Any:
    return options[int(rng() * len(options))]


def _invoice(rng: Rng, doc_id: int, number: str) -> Document:
    day = EPOCH_START + dt.timedelta(days=_below(rng, 6 * 365))
    created = date_ms(day) + 8 * 3_600_000 + _below(rng, 10 * 3_600_000)
    first_tag = _below(rng, len(TAG_POOL))
    values = {
        "INVOICE_NO": number,
        "SUPPLIER": _pick(rng, SUPPLIERS),
        "DOC_DATE": date_ms(day),
        "AMOUNT": round(5 + rng() * 49995, 2),
        "STATUS": None if doc_id % 50 == 0 else _pick(rng, STATUSES),
        "NOTES": _notes(rng, doc_id),
        "TAGS": sorted(
            {TAG_POOL[(first_tag + 3 * i) % len(TAG_POOL)] for i in range(_below(rng, 3))}
        ),
    }
    sections = _invoice_sections(rng, doc_id)
    return Document(
        doc_id, schema.INVOICES_ID, values, sections, created, _modified(doc_id, created)
    )


def _modified(doc_id: int, created: int) -> int:
    """One invoice in five was changed after it was stored, up to two years later (from the
    id, not the generator: the other values stay what they were for a seed)."""
    if doc_id % 5:
        return created
    return created + (1 + doc_id * 7919 % 730) * 86_400_000 + doc_id % 3_600 * 1000


def _notes(rng: Rng, doc_id: int) -> str | None:
    if doc_id % 100 == 7:
        sentence = "Delivery checked against order; partial shipment, remainder follows. "
        return f"Long note for document {doc_id}: " + sentence * (90 + _below(rng, 20))
    if doc_id % 3 == 0:
        return _pick(
            rng,
            (
                "Paid by transfer.",
                "Discount 2 % within 10 days.",
                "Reminder sent — see e-mail of 3/4.",
                "Zahlung erhält Müller.",
            ),
        )
    return None


def _invoice_sections(rng: Rng, doc_id: int) -> list[Section]:
    if doc_id % MULTI_SECTION_EVERY == 0:
        extra = [
            _pick(rng, ("png", "tiff", "docx", "xlsx", "pdf")) for _ in range(1 + _below(rng, 2))
        ]
        kinds = ["pdf", *extra]
    else:
        kinds = [next((k for k, every in _SINGLE_KINDS if doc_id % every == 0), "pdf")]
    return [_section(rng, n, kind) for n, kind in enumerate(kinds, start=1)]


def _section(rng: Rng, number: int, kind: str) -> Section:
    pages = 1 + _below(rng, 3) if kind == "pdf" else 1
    size = files.MIN_SIZE + _below(rng, 56 * 1024)
    return Section(number, kind, pages, _below(rng, 1 << 16), size)


_SINGLE_KINDS = (("png", 97), ("tiff", 89), ("docx", 83), ("xlsx", 79))


def _personnel(seed: int, count: int) -> list[Document]:
    rng = random.Random(f"{seed}:personnel").random
    docs: list[Document] = []
    employee = 0
    while len(docs) < count:
        employee += 1
        name = f"{_pick(rng, FIRST_NAMES)} {_pick(rng, LAST_NAMES)}"
        department = _pick(rng, DEPARTMENTS)
        first = _below(rng, len(DOC_TYPES))
        kinds = [DOC_TYPES[(first + i) % len(DOC_TYPES)] for i in range(1 + _below(rng, 3))]
        for doc_type in kinds[: count - len(docs)]:
            docs.append(
                _personnel_doc(rng, len(docs) + 1, f"{employee:06d}", name, department, doc_type)
            )
    return docs


def _personnel_doc(
    rng: Rng, doc_id: int, number: str, name: str, department: str, doc_type: str
) -> Document:
    day = EPOCH_START + dt.timedelta(days=_below(rng, 6 * 365))
    values = {
        "EMPLOYEE_NO": number,
        "NAME": name,
        "DEPARTMENT": department,
        "DOC_TYPE": doc_type,
        "DOC_DATE": date_ms(day),
    }
    created = date_ms(day) + 9 * 3_600_000
    kind = "docx" if doc_type == "Review" and doc_id % 4 == 0 else "pdf"
    return Document(
        doc_id, schema.PERSONNEL_ID, values, [_section(rng, 1, kind)], created, created, "hr"
    )
