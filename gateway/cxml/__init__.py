"""cXML 1.2 codec, sans-IO: bytes in, records out (`reader`); objects in, bytes out (`writer`).

Every document is parsed through `safe.parse`: no DTD loading, no entity expansion, no network,
bounded size and depth. Imports only the standard library, lxml and `gateway.errors`.
"""
