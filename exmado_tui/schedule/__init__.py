"""`[[schedule]]`: query jobs made by themselves, every so often or at a time of day.

`entries` reads the host file's entries (each mistake one sentence naming the setting) and says
when each runs next, from its last run, in the configured time zone; it stands on nothing of
Éxmado but the error words, so the settings can read it. `runs` makes the runs: the watcher
(`exmado watch`) claims a due run in the store with a conditional write, so a run missed while
stopped runs once at the next start and two watchers sharing a store never both make it, then
creates the job through the job service (door "schedule"). It stands on the settings and
profiles, the store, the job service and the DocuWare client.
"""
