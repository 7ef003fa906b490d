"""What the screens show and check, as plain Python: no Textual here (a test holds every module
of this package to that), so each piece can be read and tested without an app."""
