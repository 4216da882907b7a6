"""What the Python scripts of the lit tests share: a count of failed checks,
check(), error_of() and finish()."""

import sys

failures = 0


def check(ok, what):
    """Counts and prints a failure unless `ok`."""
    global failures
    if not ok:
        failures += 1
        print(f"FAIL {what}")


def error_of(fn):
    """`ErrorType: message` of what fn() raises, or "no error"."""
    try:
        fn()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


def finish():
    """Prints the count and exits non-zero if any check failed."""
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)
