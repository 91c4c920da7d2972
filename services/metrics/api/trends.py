"""`GET /v1/trends`: weekly series of the absence measures for any scope and grouping."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.metrics.api.csv_export import GEOGRAPHY_COLUMNS, csv_response
from services.metrics.api.deps import CanReadMetrics, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import CSV_RESPONSE, QuestionDep, wants_csv
from services.metrics.domain.reach import GEOGRAPHIC_LEVEL, slices
from services.metrics.reports import (
    caller_of,
    geography,
    require_read_model_dimensions,
    scope_windows,
    weekly_table,
)
from services.metrics.schemas import Measures, PeriodPublic, TrendSeries, WeekRow
from services.metrics.store.repository import MetricsRepository

router = APIRouter(tags=["trends"])


@router.get(
    "/trends",
    description="Weekly (Monday-start weeks starting in the period) measures of a scope, "
    "per group and margin, under the same counting, reach and suppression rules as "
    "`GET /v1/absence` (each week's table is suppressed on its own; persistent absence is "
    "judged per enrolment per week). Grouping by phase or social_care_status is not offered "
    "here. `Accept: text/csv` gives one line per week and group.",
    response_model=TrendSeries,
    responses=CSV_RESPONSE,
)
def trends(
    request: Request,
    principal: CanReadMetrics,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    q: QuestionDep,
) -> TrendSeries | Response:
    """A weekly series of the absence measures."""
    require_read_model_dimensions(q.group_by)
    caller = caller_of(principal, sharing)
    directory = sharing.directory()
    pieces = slices(scope_windows(q.scope, directory), caller.reach, q.asked.period, scope=q.scope)
    rows = weekly_table(
        MetricsRepository(session.connection()),
        pieces,
        q.group_by,
        q.population,
        suppressed=not caller.pupil_level,
        threshold=settings.suppression_threshold,
    )
    result = TrendSeries(
        scope=str(q.scope),
        geographic_level=GEOGRAPHIC_LEVEL[q.scope.kind],
        period=PeriodPublic(
            start=q.asked.period.start,
            end=q.asked.period.end,
            time_period=q.asked.time_period,
            time_identifier=q.asked.time_identifier,
        ),
        group_by=q.group_by,
        population=q.population,
        suppressed=not caller.pupil_level,
        weeks=[
            WeekRow(week_start=w, group=r.group, measures=Measures.model_validate(r.measures))
            for w, r in rows
        ],
    )
    if wants_csv(request):
        geo = geography(q.scope, directory)
        columns = [
            *GEOGRAPHY_COLUMNS,
            "population",
            "week_start",
            *q.group_by,
            *Measures.model_fields,
        ]
        return csv_response(
            columns,
            [
                {
                    "time_period": result.period.time_period,
                    "time_identifier": "Week",
                    "geographic_level": result.geographic_level,
                    **geo,
                    "population": result.population.value,
                    "week_start": w.week_start,
                    **w.group,
                    **w.measures.model_dump(),
                }
                for w in result.weeks
            ],
            "trends",
        )
    return result
