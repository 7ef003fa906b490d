"""Textual pieces the app and its screens share: the typed app, the messages workers post, the
read-only rule, the job actions a screen mixes in and the new-job forms' base screen."""
