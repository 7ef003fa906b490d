"""The drop folder: a workbook dropped into `<path>/<profile>/` becomes a job (`watch`), taken
in safely (`intake`: a regular file of its own, never a link) and recognised when dropped
before (`duplicates`).

It creates jobs through `job.service`, as the CLI and the dashboard do.
"""
