"""Reading workbooks: the limits checked before parsing (`guard`), a file's format and a CSV's
encoding (`formats`), cells streamed as the file holds them (`sheet_rows`), sheet and header
detection with value normalisation (`reader`), header matching (`headers`), Excel's `~$` lock
files (`excel_lock`) and what a file must pass to become a job's workbook (`checks`).

It imports only `errors` and `files`: a workbook is read the same way by every door.
"""
