"""Field types every service's API uses alike."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

EARLIEST_DATE = dt.date(1900, 1, 1)
"""No register, roll or pupil dates from before it: ingest refuses such dates, and the
service reports on none (the weeks and years around a date near year 1 cannot even be
reckoned)."""


def _iso_date_only(value: object) -> object:
    """Refuse what lax pydantic would otherwise read as a date (`0`, a Unix time)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
"""A date given only as `YYYY-MM-DD`, as the OpenAPI `format: date` promises."""
