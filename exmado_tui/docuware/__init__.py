"""DocuWare Platform REST client, one module per concern.

`client` (async core), `session` (blocking wrapper), `auth`, `connection`, `retry`,
`download`, `query` (search conditions), `models` and `types` (typed results), `errors`, `cli`
(`exmado docuware …`); the request budget all workers share: `budget`, `budget_store`,
`per_minute`, `lookups`, `throttle_watch`. Import from the module: importing the
package alone loads nothing, so that the query language or the typed values come without httpx.
"""
