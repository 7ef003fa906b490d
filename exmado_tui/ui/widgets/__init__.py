"""Reusable widgets and cell renderers of the dashboard: indicators (status, progress, spark,
store trouble), tables (plain, the jobs list, its filter bar), paged_table, keys (footer and
command palette), health_strip."""
