"""What a job leaves behind and the proof of it: the report workbook and the manifest
and the metadata files (`report`, its Rows and Documents sheets in `report_sheets`, which
also reads the job's files a chunk at a time), the manifest read back an entry at a
time and indexed (`manifest`), and `exmado jobs verify` (`verify`; `verify_remote` asks
DocuWare).

It reads the store and the job's words; it never moves a job but through `job.transitions`.
"""
