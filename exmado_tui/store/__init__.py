"""The job store: opening it (`db`: SQLite in WAL mode, or PostgreSQL by URL), its tables
(`models`), its schema versions (`migrations`), its identity in the data folder (`identity`),
moving it to another database (`copy`) and the read-only queries the CLI, the dashboard and
reports share (`queries`, with a job's figures: progress, duration, rate, time left).

It may import the words below it (`errors`, `formatting`, `files`, `config`, and of the
packages above only their store-free words: `job.status`, `notify.targets`); nothing that moves
a job.
"""
