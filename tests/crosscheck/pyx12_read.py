"""Reads an X12 file with pyx12's X12Reader and prints its segments; envelope errors on stderr.

Exit 0 when read cleanly, 1 when pyx12 reports envelope errors, 2 when it cannot read the file.
Run with the interpreter of the cross-check venv (see install.sh).
"""

import sys

import pyx12.errors
import pyx12.x12file


def main(path: str) -> int:
    errors = 0
    try:
        with open(path, encoding="latin-1") as handle:
            reader = pyx12.x12file.X12Reader(handle)
            for segment in reader:
                print(segment.format())
                for error in reader.pop_errors():
                    errors += 1
                    print("pyx12:", error, file=sys.stderr)
            for error in reader.pop_errors():
                errors += 1
                print("pyx12:", error, file=sys.stderr)
    except pyx12.errors.X12Error as exc:
        print("pyx12: cannot read:", exc, file=sys.stderr)
        return 2
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
