"""File tools: durable atomic writes (`atomic`), SHA-256 (`checksums`), name limits and
numbered variants (`names`), owner-only folders (`folders`), and writes a folder cannot take, a
full disk or a folder the workers may not write, told apart (`unwritable`).

It stands on `errors` and `formatting` only (`unwritable` names the store's file and a masked
URL, imported when it says so).
"""
