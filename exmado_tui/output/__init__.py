"""What a job leaves behind and the proof of it: the report workbook and the manifest
(`report`, its Rows sheet in `report_rows`), the manifest read back an entry at a time
(`manifest`, indexed in `manifest_index`), and `exmado jobs verify` (`verification` runs it:
`verify` checks the folder, `verify_remote` asks DocuWare).

It reads the store and the job's words; it never moves a job but through `job.transitions`.
"""
