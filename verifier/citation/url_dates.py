"""Pure: the publication date many sites write into an article's URL path.

``/2021/02/03/slug``, ``/20210203/slug``, ``/2021-02-03-slug``, ``/news/2021/02/03``; a year
and month alone (``/2021/02/slug``) names no day and is not read.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

_SEPARATED = re.compile(
    r"(?<![0-9])((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?![0-9])"
)
_COMPACT = re.compile(r"(?<![0-9])((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![0-9])")
EARLIEST = dt.date(1990, 1, 1)


def url_date(url: str, today: dt.date | None = None) -> dt.date | None:
    """The date in ``url``'s path, or None; dates before 1990 or after ``today`` (+2 days)
    are not dates but numbers."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    latest = (today or dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=2)
    for pattern in (_SEPARATED, _COMPACT):
        for match in pattern.finditer(path):
            try:
                day = dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
            if EARLIEST <= day <= latest:
                return day
    return None
