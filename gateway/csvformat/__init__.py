"""A sans-IO CSV codec for partners who exchange spreadsheets instead of X12: bytes in and
records out (`reader`), records in and bytes out (`writer`), each file laid out as the partner's
`CsvLayout` says (`layout`). Only the standard library's `csv` and `gateway.errors` are used:
never a file, a socket or the order model."""
