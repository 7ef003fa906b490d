"""Full screens of the dashboard, one per module (but help, with the other keys in `ui/keys.py`),
and `job_form`: what the two new-job forms (from a workbook, from a search) share."""
