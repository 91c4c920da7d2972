"""`GET /v1/absence`: DfE absence measures for a scope and period, by any grouping."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.metrics.api.csv_export import GEOGRAPHY_COLUMNS, csv_response
from services.metrics.api.deps import CanReadMetrics, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import CSV_RESPONSE, QuestionDep, wants_csv
from services.metrics.clients.sharing import Directory
from services.metrics.domain.errors import InvalidQuery
from services.metrics.domain.groups import Dimension
from services.metrics.domain.measures import GroupMeasures, Population
from services.metrics.domain.reach import (
    GEOGRAPHIC_LEVEL,
    PeriodAsked,
    Scope,
    ScopeKind,
    parse_scope,
    previous_year,
    slices,
)
from services.metrics.reports import (
    Caller,
    TableRow,
    caller_of,
    cells,
    geography,
    scope_windows,
    table,
)
from services.metrics.schemas import AbsenceTable, Comparison, Measures, PeriodPublic, Row
from services.metrics.store.repository import MetricsRepository
from shared.problems import ProblemItem

router = APIRouter(tags=["absence"])

Comparator = Literal["last_year", "la", "national"]

DESCRIPTION = """
Counted as DfE's *Pupil absence statistics: methodology* says: per enrolment (each stay
of a pupil who left the school and came back is one); pupils aged 5 to 15 on 31 August
before the academic year; for pupils aged 15 the second half of the summer term (spring
bank holiday to 31 July) removed; enrolments first starting in the second half of the
summer term excluded; enrolments with no possible sessions excluded.
`population=four_year_olds` gives the same measures for pupils aged 4 on that day, whom
DfE reports apart (not in the headline figures).
Rates sum sessions first, then divide. `enrolments_pa_10_exact` counts enrolments whose
own absence is at least 10% of their own possible sessions, `enrolments_pa_50_exact` at
least 50%, judged over the period asked for.

Rows hold every cell of the grouping and every margin (`Total` in a dimension).

**Who sees what.** The caller's organisation must be able to see every school of the
scope (sharing's visible-schools policy); otherwise the scope is not found (404). A
trust's schools count only over their time in the trust. Callers who may see
aggregates only (e.g. the DfE) get statistical disclosure control: every measure of a
group of fewer than 5 enrolments (configurable) is `c`; a count of persistent or
severe absentees from 1 to 4 is `c` with its rate; then secondary suppression hides one
more member of every margin that would otherwise hold a single `c`, until every margin
holds none or at least two. Zero stays 0. A breakdown by `social_care_status` is always
suppressed, whoever asks (sharing discloses a child's status child by child).

**Comparisons** (`compare`): `last_year` is the same period a year earlier, under the
same rules and reach; `la` (the local authority of the school, or of the trust's schools
when they share one) and `national` are always suppressed as aggregates, since they
cover schools the caller may not see at pupil level.

`Accept: text/csv` gives the same rows as CSV with DfE's variable names and geography
columns (`time_period`, `time_identifier`, `geographic_level`, `new_la_code` (empty: the
directory holds no ONS codes), `old_la_code`, `school_urn`, `trust_uid`).
"""


def _rows(rows: list[TableRow]) -> list[Row]:
    return [Row(group=r.group, measures=Measures.model_validate(r.measures)) for r in rows]


def _period(asked: PeriodAsked) -> PeriodPublic:
    return PeriodPublic(
        start=asked.period.start,
        end=asked.period.end,
        time_period=asked.time_period,
        time_identifier=asked.time_identifier,
    )


def _breakdown(
    repo: MetricsRepository,
    sharing: SharingDep,
    directory: Directory,
    scope: Scope,
    asked: PeriodAsked,
    group_by: list[str],
    population: Population,
    reach: Caller,
    *,
    suppressed: bool,
    threshold: int,
) -> list[TableRow]:
    pieces = slices(scope_windows(scope, directory), reach.reach, asked.period, scope=scope)
    found: dict[tuple[str, ...], GroupMeasures] = cells(
        repo, sharing, pieces, group_by, asked.period, population
    )
    return table(found, group_by, suppressed=suppressed, threshold=threshold)


@router.get(
    "/absence",
    description=DESCRIPTION,
    response_model=AbsenceTable,
    responses=CSV_RESPONSE,
)
def absence(
    request: Request,
    principal: CanReadMetrics,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    q: QuestionDep,
    compare: Annotated[
        list[Comparator], Query(description="last_year, la, national (repeatable).")
    ] = [],  # noqa: B006 - FastAPI copies list defaults per request
) -> AbsenceTable | Response:
    """Absence measures of a school, trust, local authority or England."""
    scope, asked, dims = q.scope, q.asked, q.group_by
    caller = caller_of(principal, sharing)
    directory = sharing.directory()
    repo = MetricsRepository(session.connection())
    threshold = settings.suppression_threshold
    # Social-care status is sharing's to disclose child by child; a breakdown by it is
    # always treated as aggregates-only, so no small cell can reveal one child's status.
    suppressed = not caller.pupil_level or Dimension.SOCIAL_CARE_STATUS in dims
    rows = _breakdown(
        repo,
        sharing,
        directory,
        scope,
        asked,
        dims,
        q.population,
        caller,
        suppressed=suppressed,
        threshold=threshold,
    )
    comparisons: list[Comparison] = []
    everyone = Caller(None, pupil_level=False)
    for comparator in dict.fromkeys(compare):
        if comparator == "last_year":
            target, when, who, hide = scope, previous_year(asked), caller, suppressed
        elif comparator == "la":
            target, when, who, hide = _la_of(scope, directory), asked, everyone, True
        else:
            target, when, who, hide = Scope(ScopeKind.NATIONAL), asked, everyone, True
        comparisons.append(
            Comparison(
                comparator=comparator,
                scope=str(target),
                geographic_level=GEOGRAPHIC_LEVEL[target.kind],
                period=_period(when),
                suppressed=hide,
                rows=_rows(
                    _breakdown(
                        repo,
                        sharing,
                        directory,
                        target,
                        when,
                        dims,
                        q.population,
                        who,
                        suppressed=hide,
                        threshold=threshold,
                    )
                ),
            )
        )
    result = AbsenceTable(
        scope=str(scope),
        geographic_level=GEOGRAPHIC_LEVEL[scope.kind],
        period=_period(asked),
        group_by=dims,
        population=q.population,
        suppressed=suppressed,
        rows=_rows(rows),
        comparisons=comparisons,
    )
    if wants_csv(request):
        return _csv(result, directory)
    return result


def _la_of(scope: Scope, directory: Directory) -> Scope:
    """The local authority of a school scope, or of every school of a trust if they share one."""
    if scope.kind is ScopeKind.LOCAL_AUTHORITY:
        return scope
    if scope.kind is ScopeKind.SCHOOL:
        school = directory.schools.get(scope.id)
        codes = {school.la_code} if school else set()
    elif scope.kind is ScopeKind.TRUST:
        codes = {directory.schools[u].la_code for u, _ in directory.in_trust(scope.id)}
    else:
        codes = set()
    if len(codes) != 1:
        raise InvalidQuery(
            "The scope has no single local authority to compare with.",
            [ProblemItem(location="query:compare", code="no_single_la", detail=str(scope))],
        )
    return Scope(ScopeKind.LOCAL_AUTHORITY, codes.pop())


def _csv(result: AbsenceTable, directory: Directory) -> Response:
    dims = [d for d in result.group_by if d != "school"]
    measures = list(Measures.model_fields)
    columns = [*GEOGRAPHY_COLUMNS, "comparator", "population", *dims, *measures]

    def lines(
        comparator: str, scope: str, level: str, period: PeriodPublic, rows: list[Row]
    ) -> list[dict[str, object]]:
        geo = geography(parse_scope(scope), directory)
        out: list[dict[str, object]] = []
        for row in rows:
            line: dict[str, object] = {
                "time_period": period.time_period,
                "time_identifier": period.time_identifier,
                "geographic_level": level,
                "comparator": comparator,
                "population": result.population.value,
                **geo,
                **{d: row.group[d] for d in dims},
                **row.measures.model_dump(),
            }
            if "school" in row.group:
                line["school_urn"] = row.group["school"]
            out.append(line)
        return out

    everything = lines("", result.scope, result.geographic_level, result.period, result.rows)
    for c in result.comparisons:
        everything += lines(c.comparator, c.scope, c.geographic_level, c.period, c.rows)
    return csv_response(columns, everything, "absence")
