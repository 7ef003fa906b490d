"""The Textual dashboard: the only package of Éxmado that imports textual."""
