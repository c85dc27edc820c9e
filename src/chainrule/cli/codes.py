"""Exit codes: the only place they are defined.

0 success (every identity proved, every answer correct); 1 a refuted or unknown identity, or a
wrong or missing answer; 2 a usage error or an input that cannot be read (one line on stderr);
3 `equiv` could not decide, or `eval --digits` could not certify the digits; 130 interrupted.
"""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
