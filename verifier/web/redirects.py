"""Redirects followed by hand, so that every hop is its own vetted, gated exchange and recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from verifier.errors import FetchError
from verifier.urls import join_url, normalize_url, shown_url
from verifier.web.answers import Failure, Outcome, Response

Exchange = Callable[[str, str], Awaitable[Response]]
"""One request (method, URL) with no redirect followed: ``Fetcher.exchange``."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class RedirectFollower:
    """Follows a URL's redirects, at most ``max_redirects`` of them, to its final answer."""

    def __init__(self, exchange: Exchange, max_redirects: int) -> None:
        self._exchange = exchange
        self._max_redirects = max_redirects

    async def follow(self, url: str, method: str) -> Outcome:
        """One attempt at ``url``: the chain of hops to a final response, or a failure."""
        chain = [url]
        current = url
        for _ in range(self._max_redirects + 1):
            try:
                response = await self._exchange(method, current)
            except FetchError as exc:
                return Outcome(url, None, exc.failure, exc.detail, tuple(chain))
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return Outcome(url, response, chain=tuple(chain))
            joined = join_url(current, location)
            if joined is None:
                return Outcome(
                    url,
                    response,
                    Failure.BAD_URL,
                    f"redirect to a malformed URL: {shown_url(location)}",
                    tuple(chain),
                )
            target = normalize_url(joined)
            if target in chain:
                return Outcome(
                    url,
                    response,
                    Failure.REDIRECT_LOOP,
                    f"redirect loop: {' → '.join([*chain[chain.index(target) :], target])}",
                    tuple(chain),
                )
            chain.append(target)
            current = target
        return Outcome(
            url,
            None,
            Failure.TOO_MANY_REDIRECTS,
            f"more than {self._max_redirects} redirects",
            tuple(chain),
        )
