"""File tools: files written safely (`writing`: durable atomic writes, owner-only folders and
files, SHA-256), name limits and numbered variants (`names`), and writes a folder cannot take, a
full disk or a folder the workers may not write, told apart (`unwritable`).

It stands on `errors` and `formatting` only (`unwritable` names the store's file and a masked
URL, imported when it says so).
"""
