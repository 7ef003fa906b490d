"""Reusable widgets and cell renderers of the dashboard: indicators (status, progress, spark,
store trouble, the health strip), tables (plain, the jobs list, its filter bar), paged_table."""
