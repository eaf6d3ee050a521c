"""Reading an answer: the first bytes of its body, as sent, then decoded under the same cap."""

from __future__ import annotations

import httpx

from verifier.web.answers import Response
from verifier.web.bodies import content_codings, decode_bounded


async def read_answer(
    method: str, url: str, response: httpx.Response, keep: int, drain: int
) -> Response:
    """The essentials of ``response`` with its first ``keep`` decoded bytes; the response is
    closed either way."""
    try:
        raw = await read_head_of_body(response, keep, drain)
        headers = response.headers  # case-insensitive, as classify expects
        body = decode_bounded(raw, content_codings(headers.get("content-encoding")), keep)
        return Response(method, url, response.status_code, headers, body)
    finally:
        await response.aclose()


async def read_head_of_body(response: httpx.Response, keep: int, drain: int) -> bytes:
    """The first ``keep`` bytes of the body as sent (still content-encoded); the rest is read
    and discarded up to ``drain`` more, so that the connection goes back to the pool. A
    longer body is abandoned, which closes the connection (HTTP/1.1 has no other way to stop
    a response). HEAD answers are read too: their end is what frees the connection."""
    limit = keep + drain
    chunks: list[bytes] = []
    kept = size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if kept < keep:
            chunks.append(chunk)
            kept += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[:keep]
