"""Reading workbooks: the file before parsing, its format, a CSV's encoding and the limits
checked (`guard`), cells streamed as the file holds them (`sheet_rows`), sheet and header
detection with value normalisation (`reader`), and what a file must pass to become a job's
workbook, with header matching and Excel's `~$` lock files (`checks`).

It imports only `errors` and `files`: a workbook is read the same way by every door.
"""
