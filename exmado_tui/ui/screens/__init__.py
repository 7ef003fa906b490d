"""Full screens of the dashboard, one per module, and `job_form`: what the two new-job forms
(from a workbook, from a search) share."""
