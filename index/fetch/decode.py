"""Streamed response bodies: gzip and deflate decompressed here, under a size cap.

The cap counts the decompressed bytes as they stream, so a decompression bomb stops at the cap,
never in memory.
"""

from __future__ import annotations

import zlib

import aiohttp

from newsbot.index.fetch.errors import FetchError, TooLargeError

_CHUNK = 64 * 1024


async def read_capped(resp: aiohttp.ClientResponse, cap: int, url: str, what: str) -> bytes:
    """The body, decompressed, failing as soon as it passes ``cap`` bytes (sent or decompressed)."""
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = None  # zlib-wrapped or raw: decided on the first bytes
    else:
        raise FetchError(url, f"the server sent an unsupported Content-Encoding ({encoding})", what=what)
    declared = resp.content_length
    if declared is not None and declared > cap:
        raise TooLargeError(url, f"it is {declared:,} bytes, over the {cap:,}-byte limit", what=what)
    out = bytearray()
    received = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        received += len(chunk)
        if received > cap:
            raise TooLargeError(url, f"it is over the {cap:,}-byte limit", what=what)
        if encoding in ("", "identity"):
            out += chunk
        else:
            if decoder is None:  # deflate: zlib header (RFC 1950) or raw deflate, as servers differ
                zlib_header = (
                    len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] * 256 + chunk[1]) % 31 == 0
                )
                decoder = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            try:
                out += decoder.decompress(chunk, cap + 1 - len(out))
            except zlib.error as exc:
                raise FetchError(url, f"the compressed body is corrupt ({exc})", what=what) from None
            if len(out) > cap or decoder.unconsumed_tail:
                raise TooLargeError(
                    url, f"it decompresses to over the {cap:,}-byte limit (sent as {encoding})", what=what
                )
        if len(out) > cap:
            raise TooLargeError(url, f"it is over the {cap:,}-byte limit", what=what)
    if decoder is not None:
        try:
            out += decoder.flush()
        except zlib.error as exc:
            raise FetchError(url, f"the compressed body is corrupt ({exc})", what=what) from None
        if len(out) > cap:
            raise TooLargeError(url, f"it decompresses to over the {cap:,}-byte limit", what=what)
    return bytes(out)
