"""Reading workbooks: what a file must pass to become a job's workbook (`checks`: its name
and Excel's `~$` lock files; before parsing, its format, a CSV's encoding and the limits; its
sheet and columns; and header matching), cells streamed as the file holds them (`sheet_rows`),
and sheet and header detection with value normalisation (`reader`).

It imports only `errors` and `files`: a workbook is read the same way by every door.
"""
