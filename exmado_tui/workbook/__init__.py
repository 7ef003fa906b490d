"""Reading workbooks: the limits checked before parsing (`guard`), a file's format and a CSV's
encoding (`formats`), cells streamed as the file holds them (`sheet_rows`), sheet and header
detection with value normalisation (`reader`), header matching (`headers`) and Excel's `~$` lock
files (`excel_lock`).

It imports only `errors` and `files`: a workbook is read the same way by every door.
"""
