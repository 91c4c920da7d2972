"""Request and response shapes of the metrics API (never a table model)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.metrics.domain.measures import Population
from shared.contracts.changes import Stay

Count = int | Literal["c"]
Rate = float | Literal["c"] | None


class Measures(BaseModel):
    """DfE's absence measures of one group. `c`: suppressed (see the API description)."""

    model_config = ConfigDict(extra="forbid")

    enrolments: Count
    sess_possible: Count
    sess_attended: Count
    sess_attended_percent: Rate
    sess_authorised: Count
    sess_unauthorised: Count
    sess_overall: Count
    sess_authorised_percent: Rate
    sess_unauthorised_percent: Rate
    sess_overall_percent: Rate
    enrolments_pa_10_exact: Count
    enrolments_pa_10_exact_percent: Rate
    enrolments_pa_50_exact: Count
    enrolments_pa_50_exact_percent: Rate
    sess_auth_illness: Count
    sess_auth_appointments: Count
    sess_auth_religious: Count
    sess_auth_study: Count
    sess_auth_traveller: Count
    sess_auth_holiday: Count
    sess_auth_excluded: Count
    sess_auth_other: Count
    sess_auth_part_time: Count
    sess_unauth_holiday: Count
    sess_unauth_late: Count
    sess_unauth_other: Count
    sess_unauth_noyet: Count


class Row(BaseModel):
    """One cell or margin: `group` maps each dimension to a value, or `Total`."""

    group: dict[str, str]
    measures: Measures


class PeriodPublic(BaseModel):
    start: dt.date
    end: dt.date
    time_period: str = Field(description="DfE's academic-year label, e.g. 202324.")
    time_identifier: str = Field(description="Academic year, Autumn term, Week, ...")


class Comparison(BaseModel):
    """The same breakdown for a comparator: last year, the local authority, England."""

    comparator: Literal["last_year", "la", "national"]
    scope: str
    geographic_level: str
    period: PeriodPublic
    suppressed: bool
    rows: list[Row]


class AbsenceTable(BaseModel):
    """A breakdown of absence for one scope and period, with every margin."""

    scope: str
    geographic_level: str
    period: PeriodPublic
    group_by: list[str]
    population: Population = Field(description="The pupils the figures cover.")
    suppressed: bool = Field(description="True when statistical disclosure control applied.")
    rows: list[Row]
    comparisons: list[Comparison] = Field(default_factory=list)


class WeekRow(BaseModel):
    week_start: dt.date
    group: dict[str, str]
    measures: Measures


class TrendSeries(BaseModel):
    """Weekly measures (Monday-start weeks) of one scope, per group and margin."""

    scope: str
    geographic_level: str
    period: PeriodPublic
    group_by: list[str]
    population: Population = Field(description="The pupils the figures cover.")
    suppressed: bool
    weeks: list[WeekRow]


class PupilMeasures(BaseModel):
    """One pupil's measures at one school over the period (every stay of a pupil who came
    back summed)."""

    sess_possible: int
    sess_attended: int
    sess_authorised: int
    sess_unauthorised: int
    sess_overall: int
    sess_attended_percent: float | None
    sess_overall_percent: float | None
    persistent_absentee: bool
    severe_absentee: bool


class FlagPublic(BaseModel):
    rule: str
    reason: str


class PupilPublic(BaseModel):
    """A pupil on one school's roll, with characteristics and measures.

    Fields the caller's access policy does not allow are absent (not null): social care
    sees attendance, enrolment and identity only; a virtual school no ethnicity or FSM.
    """

    upn: str
    school_urn: str
    legal_surname: str | None = None
    legal_forename: str | None = None
    date_of_birth: dt.date | None = None
    gender: str | None = None
    nc_year: str | None = None
    sen_provision: str | None = None
    fsm_eligible: bool | None = None
    ethnicity: str | None = None
    ethnicity_group: str | None = None
    entry_date: dt.date | None = None
    leaving_date: dt.date | None = None
    earlier_stays: list[Stay] | None = Field(
        default=None, description="Stays before this one, for a pupil who left and came back."
    )
    measures: PupilMeasures | None = None
    early_warnings: list[FlagPublic] | None = Field(
        default=None, description="Present when at_risk was asked about."
    )


class PupilPage(BaseModel):
    items: list[PupilPublic]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next.")


class MarkPublic(BaseModel):
    date: dt.date
    session: str
    code: str
    category: str | None = Field(description="The statistical category; None if not in force.")


class WeekAttendance(BaseModel):
    week_start: dt.date
    sess_possible: int
    sess_attended: int
    sess_attended_percent: float | None


class EnrolmentAttendance(BaseModel):
    """One enrolment's register and measures (headline sessions only in `measures`).

    Marks, weeks and measures cover only the days the caller's access policy allows;
    fields it does not allow are absent.
    """

    school_urn: str
    entry_date: dt.date | None = None
    leaving_date: dt.date | None = None
    earlier_stays: list[Stay] | None = Field(
        default=None, description="Stays before this one, for a pupil who left and came back."
    )
    marks: list[MarkPublic] = Field(default_factory=list)
    weeks: list[WeekAttendance] = Field(default_factory=list)
    measures: PupilMeasures | None = None


class PupilAttendance(BaseModel):
    upn: str
    period: PeriodPublic
    enrolments: list[EnrolmentAttendance]


class EarlyWarning(BaseModel):
    """A pupil with early warnings; names and year are absent where the policy withholds them."""

    upn: str
    school_urn: str
    legal_surname: str | None = None
    legal_forename: str | None = None
    nc_year: str | None = None
    flags: list[FlagPublic]


class EarlyWarningList(BaseModel):
    as_of: dt.date
    items: list[EarlyWarning]


class NotificationAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    consumer_running: bool


class AttendanceSummary(BaseModel):
    """Headline sessions (DfE rules) over a span, on the days the policy allows."""

    start: dt.date
    end: dt.date
    sess_possible: int
    sess_attended: int
    sess_overall: int
    sess_attended_percent: float | None


class ChildMark(MarkPublic):
    school_urn: str


class ChildAttendance(BaseModel):
    """A child with a social worker, at whatever school it is on roll.

    Names are absent where the policy withholds identity.
    """

    upn: str
    category: str = Field(description="CIN, CPP or CLA: the episode open on as_of, else the last.")
    practitioner_ref: str | None = None
    episode_start: dt.date
    episode_end: dt.date | None
    school_urn: str | None = Field(description="The school on roll on as_of (null: none known).")
    legal_surname: str | None = None
    legal_forename: str | None = None
    this_week: AttendanceSummary
    last_4_weeks: AttendanceSummary
    year_to_date: AttendanceSummary
    persistent_absentee: bool
    severe_absentee: bool
    early_warnings: list[FlagPublic]
    latest_marks: list[ChildMark] = Field(description="The last 7 days' marks, newest last.")
    sessions_counted: Literal["headline", "register"] = Field(
        description="headline: DfE's headline sessions (pupils aged 5 to 15 on 31 August); "
        "register: every possible session of the register, for a child outside those ages "
        "(a reception four-year-old, a pupil over 15), whom the headline measures leave out."
    )


class ChildrenPage(BaseModel):
    as_of: dt.date
    items: list[ChildAttendance]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next.")
