"""Runs a command that must fail as a usage error of ringattn-gen.

usage: expect_usage_error.py DIR -- COMMAND...

Asserts that COMMAND exits with status 2, prints nothing on stdout and exactly
one line on stderr, and leaves DIR (its output directory; '-' to skip) absent
or empty. Prints the stderr line for FileCheck.
"""

import os
import subprocess
import sys


def main():
    separator = sys.argv.index("--")
    directory, command = sys.argv[1], sys.argv[separator + 1:]
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(result.stderr)
    assert result.returncode == 2, f"exit status {result.returncode}, want 2"
    assert result.stdout == "", f"unexpected stdout: {result.stdout!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"want one line on stderr, got {len(lines)}"
    if directory != "-" and os.path.exists(directory):
        left = os.listdir(directory)
        assert not left, f"{directory} is not empty: {left}"


if __name__ == "__main__":
    main()
