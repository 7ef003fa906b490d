"""DocuWare Platform REST client, one module per concern.

`client` (async core), `session` (blocking wrapper), `auth`, `connection`, `body` (answer
bodies and downloads), `paging` (a search past one answer), `query` (search conditions),
`models` (typed results), `values` (a field's value), `errors` (each failure, and when a
request is tried again), `cli` (`exmado docuware …`); the request budget all workers share and
the lookups they share with it: `budget` (a process's side), `budget_store` (Redis's side).
Every answer is counted through `connection.install_tally`. Import from the module: importing
the package alone loads nothing, so that the query language or the typed values come without
httpx.
"""
