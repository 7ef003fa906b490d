"""The drop folder: a workbook dropped into `<path>/<profile>/` becomes a job (`watch`), taken
in safely and recognised when dropped before (`intake`: a regular file of its own, never a
link; the job its content made earlier).

It creates jobs through `job.service`, as the CLI and the dashboard do.
"""
