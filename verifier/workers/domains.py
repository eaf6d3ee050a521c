"""The unit of politeness across workers: a host's registrable domain (``news.bbc.co.uk`` →
``bbc.co.uk``), from the Public Suffix List that tldextract ships (never fetched: no
request leaves for it). Sites under one domain mostly share servers, so one worker checks
them all; an IP address or a name without a public suffix is its own domain."""

from __future__ import annotations

import functools

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    host = host.strip("[]").rstrip(".").lower()
    return _EXTRACT(host).top_domain_under_public_suffix or host
