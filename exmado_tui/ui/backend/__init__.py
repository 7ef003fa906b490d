"""The dashboard's reach beyond the event loop: the threads its blocking calls run on
(`threads`, the one dashboard module that names the store's database library), the Redis and
DocuWare health probes, and the DocuWare look-ups of the new-job form. No Textual here (a test
holds every module of this package to that)."""
