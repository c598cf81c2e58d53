"""A merge request's review: its candidate against the champion, each claim with its interval.

paired.py (each metric's paired difference), groups.py (the same per group, corrected for their
number), flips.py, calibration.py: pure functions on scores. report.py holds what was found;
markdown.py, page.py and output.py render it. jobs/review.py is the wiring.
"""

__all__: list[str] = []
