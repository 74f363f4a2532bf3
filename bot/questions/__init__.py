"""What investors asked and what became of it: the question log (log.py), questions escalated to staff
(escalations.py), gap topics (gaps.py), the review texts and the Datasette page (review.py, datasette.py)."""
