"""`python -m tests.fuzz TARGET [libFuzzer options] [CORPUS_DIR ...]`: run one fuzz target.

With no corpus folder, a temporary one is seeded from the samples (and the shared corpus when
present); a folder given is seeded too when empty, so `make fuzz` keeps what it learns in
`.build/fuzz/TARGET` from one run to the next. A crash stops the run, writes the input to
`crash-*` in the current folder and exits non-zero: `python -m tests.fuzz TARGET crash-...`
replays it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["gateway"]):
    from tests.fuzz.targets import TARGETS, seeds


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[argv[1]]()
    options = [a for a in argv[2:] if a.startswith("-")]
    paths = [a for a in argv[2:] if not a.startswith("-")]
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    if not paths:
        folders = [Path(tempfile.mkdtemp(prefix="gateway-corpus-"))]
        paths = [str(folders[0])]
    for folder in folders:
        if not any(folder.iterdir()):
            for seed in seeds():
                shutil.copy(seed, folder / seed.name)
    atheris.Setup([argv[0], *options, *paths], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
