"""Configuration: the layers (`layers`: files tagged with their source, environment values, and
the secrets read from them), the effective settings as frozen dataclasses with the time zone
(`settings`), read and checked (`loading`), profiles (`profiles`), and file and folder name
templates (`templates`).

It may import the words below it (`errors`, `formatting`, `files`) and the settings other
packages own the shape of (`notify.targets`, `workbook.checks`' limits, a profile's
`job.query_source`); never the store.
"""
