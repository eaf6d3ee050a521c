"""The domain registry: which hosts are tier 1, 2 or 3 by nature.

A host matches an entry when it equals the entry or ends with ``.`` + entry, so ``gov``
covers every ``*.gov`` host and ``nytimes.com`` covers ``www.nytimes.com``. The longest
matching entry wins, so ``substack.com`` (tier 3) can sit beside a tier-2 publisher's
``foo.substack.com`` if a user lists it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from verifier.urls import domain_suffixes


class DomainRegistry:
    """Maps hosts to the best tier their content can claim."""

    def __init__(self, tiers: Mapping[int, Iterable[str]]) -> None:
        self._tier_of: dict[str, int] = {}
        for tier in sorted(tiers, reverse=True):  # a domain listed twice keeps its best tier
            for domain in tiers[tier]:
                key = domain.strip().lower().lstrip(".")
                if key:
                    self._tier_of[key] = tier
        self.tier_of = lru_cache(maxsize=16_384)(self._lookup)

    def _lookup(self, host: str) -> int | None:
        """The tier of the longest registry entry ``host`` falls under, or None if unknown."""
        for domain in domain_suffixes(host):
            tier = self._tier_of.get(domain)
            if tier is not None:
                return tier
        return None

    def __len__(self) -> int:
        return len(self._tier_of)
