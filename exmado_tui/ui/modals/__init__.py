"""Modal dialogs, one per module, each typed by what it returns."""
