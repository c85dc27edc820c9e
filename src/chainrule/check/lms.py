"""The learning-management systems whose grade import `check --csv --lms` writes (read by the CLI's parser)."""

LMS = ("moodle", "canvas")
