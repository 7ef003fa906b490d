"""Modal dialogs, each typed by what it returns: questions (confirm, prompt, delete, fail),
viewers (a row, a refused file shown whole), file_picker."""
