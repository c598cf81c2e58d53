"""`Progress`: how a job reports a step to its caller (a line for people, or nothing).

One type for every job; tabship.data's ingest has its own, richer one.
"""

from collections.abc import Callable

Progress = Callable[[str], None]
