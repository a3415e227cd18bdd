"""Coverage-guided fuzzing with atheris (libFuzzer for Python).

Targets (`targets.py`), each fed arbitrary bytes:

- `codec`: the X12 reader on the bytes cut into chunks of a size the input picks, the
  acknowledgements built from its report in every format and serialized, the parsed sets placed
  in their loop trees. Nothing may raise: validation reports, answers always serialize.
- `ingest`: the whole inbound path, `Ingestor.ingest` on a SQLite store kept across inputs (so
  855s, 856s, 860s and 810s meet orders that earlier inputs created): validation, storage,
  acknowledgement, every inbound mapping (850, 855, 856, 860, 865, 810, 997/999, TA1) and the
  order rules. Nothing may raise: a partner's bad file is an outcome, never an exception.

`python -m tests.fuzz TARGET [libFuzzer options] [CORPUS_DIR ...]` runs one (`make fuzz` runs
each for a while); the corpus starts from the project's samples and, when it is there,
`../shared/corpus/x12`. `tests/integration/test_fuzz.py` runs each target for a fixed number of
executions inside `make test`.
"""
