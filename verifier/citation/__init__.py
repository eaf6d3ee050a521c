"""The citation check: is the live page the page cited? Page facts from the first bytes of
the liveness GET (``extract``), pure matching and verdicts (``matching``, ``judge``), and the
head of the Wayback capture from the cited date that tells a changed page from a wrong URL
(``captures``)."""
