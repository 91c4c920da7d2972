"""A run's text gives back exactly the marks it was made from."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.store import mark_runs
from shared.codes import ALL_CODES

pupil_marks = st.dictionaries(
    st.tuples(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.sampled_from(["AM", "PM"])),
    st.sampled_from(sorted(ALL_CODES)),
    min_size=1,
)


@given(st.dictionaries(st.sampled_from(["A100", "B200", "C300"]), pupil_marks, min_size=1))
def test_each_pupils_run_unpacks_to_its_marks_in_order(
    by_pupil: dict[str, dict[tuple[date, str], str]],
) -> None:
    marks = sorted(
        (upn, day, session, code, 0)
        for upn, sessions in by_pupil.items()
        for (day, session), code in sessions.items()
    )
    runs = list(mark_runs.runs(marks))
    assert [r.upn for r in runs] == sorted(by_pupil)
    for run in runs:
        expected = sorted((d, s, c) for (d, s), c in by_pupil[run.upn].items())
        assert mark_runs.unpack(run.text) == expected
        assert run.count == len(expected)
