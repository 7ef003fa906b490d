"""A job's life: its words (`status`: statuses, edges, rows' outcomes, the `Event` line), the
one function that moves it and its event log (`transitions`), the service every door shares
(`service`: create, start, pause, resume, cancel, retry, fail, delete), what a new job is made
of (`new_job`: what a door asks `create` for, the workbook checked and copied, in the data
folder and in the store), who holds a running job and how a dead holder's job is taken over
(`liveness`, a package: its `__init__` states the rule and its clocks), who asked (`actor`), and
a query job's query with what is new since the previous run of the same query (`query_source`).

`status` imports nothing of Éxmado, so the store, the DocuWare client and the dashboard can
use its words; the rest stands on the store, the settings and the queue's names.
"""
