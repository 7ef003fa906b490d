"""DocuWare Platform REST client: async core, blocking session, typed results, errors."""

from exmado_tui.docuware.client import AsyncDocuWareClient
from exmado_tui.docuware.errors import (
    AuthenticationError,
    BadRequestError,
    DocuWareError,
    DocuWareNetworkError,
    ForbiddenError,
    IncompleteDownloadError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
)
from exmado_tui.docuware.models import (
    Dialog,
    DialogInfo,
    Document,
    DocumentRef,
    DownloadResult,
    FieldInfo,
    FileCabinet,
    Organization,
    Section,
    ServiceDescription,
)
from exmado_tui.docuware.query import (
    And,
    Condition,
    Empty,
    Exact,
    NotEmpty,
    Or,
    Range,
    Wildcard,
    escape_value,
)
from exmado_tui.docuware.retry import RetryPolicy
from exmado_tui.docuware.session import DocuWareSession
from exmado_tui.docuware.types import FieldValue

__all__ = [
    "And",
    "AsyncDocuWareClient",
    "AuthenticationError",
    "BadRequestError",
    "Condition",
    "Dialog",
    "DialogInfo",
    "DocuWareError",
    "DocuWareNetworkError",
    "DocuWareSession",
    "Document",
    "DocumentRef",
    "DownloadResult",
    "Empty",
    "Exact",
    "FieldInfo",
    "FieldValue",
    "FileCabinet",
    "ForbiddenError",
    "IncompleteDownloadError",
    "NotEmpty",
    "NotFoundError",
    "Or",
    "Organization",
    "Range",
    "RetryPolicy",
    "Section",
    "ServerError",
    "ServiceDescription",
    "ThrottledError",
    "UnexpectedResponseError",
    "Wildcard",
    "escape_value",
]
