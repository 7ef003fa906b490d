"""Configuration: the layers (`layers`: files tagged with their source, environment values), the
effective settings as frozen dataclasses (`settings`), read and checked (`loading`), profiles
(`profiles`), file and folder name templates (`templates`), secrets (`secret`) and the time zone
(`timezones`).

It may import the words below it (`errors`, `formatting`, `files`) and the settings other
packages own the shape of (`notify.targets`, `workbook.guard`'s limits, a profile's
`job.query_source`); never the store.
"""
