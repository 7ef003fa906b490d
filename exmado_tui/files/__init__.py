"""File tools: durable atomic writes (`atomic`), SHA-256 (`checksums`), name limits and
numbered variants (`names`), owner-only folders (`folders`), a full disk told apart
(`diskspace`) and a folder the workers may not write (`writable`).

It stands on `errors` and `formatting` only (`diskspace` names the store's file and a masked
URL, imported when it says so).
"""
