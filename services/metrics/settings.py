"""Settings of the metrics service, read from `METRICS_*` environment variables."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from services.metrics.domain.alert_rules import AlertThresholds
from services.metrics.domain.early_warning import EarlyWarningRules
from shared.settings import DatabaseSettings, ServiceSettings


class EarlyWarningSettings(BaseModel):
    """Thresholds of the early-warning rules (see `GET /v1/early-warnings`)."""

    recent_weeks: int = Field(default=4, ge=1, description="School weeks counted as recent.")
    recent_attendance_below: int = Field(
        default=90, ge=1, le=100, description="Recent attendance (%) below which to warn."
    )
    year_to_date_at_least: int = Field(
        default=90, ge=0, le=100, description="...while the year to date is at least this (%)."
    )
    year_sessions: int = Field(
        default=380, ge=1, description="Possible sessions in a full year, for projections."
    )
    pattern_weeks: int = Field(default=6, ge=1, description="Weeks searched for patterns.")
    weekday_repeats: int = Field(
        default=3, ge=2, description="Absences on the same weekday that make a pattern."
    )
    broken_weeks: int = Field(
        default=3, ge=1, description="Weeks with some sessions missed that make a pattern."
    )
    unexplained_sessions: int = Field(
        default=4, ge=1, description="Sessions coded N (reason not yet established) to warn."
    )
    fall_points: int = Field(
        default=5, ge=1, description="Fall in attendance points against last year to warn."
    )

    def rules(self) -> EarlyWarningRules:
        return EarlyWarningRules(**self.model_dump())


class AlertSettings(BaseModel):
    """The alert rules' parameters, and how far back they look (see `services.metrics.alerts`)."""

    enabled: bool = Field(default=True, description="Evaluate alert rules as pages apply.")
    unexplained_sessions: int = Field(
        default=2, ge=1, description="Consecutive N/O sessions of a child with a social worker."
    )
    missing_education_days: int = Field(
        default=3, ge=1, description="Consecutive school days unseen (G, N, O) to alert."
    )
    recent_weeks: int = Field(default=4, ge=1, description="School weeks of recent attendance.")
    recent_attendance_below: int = Field(
        default=90, ge=1, le=100, description="Recent attendance (%) below which to alert."
    )
    min_recent_sessions: int = Field(
        default=10, ge=1, description="Possible sessions needed before recent attendance is judged."
    )
    persistent_percent: int = Field(default=10, ge=1, le=100, description="Persistent absence (%).")
    severe_percent: int = Field(default=50, ge=1, le=100, description="Severe absence (%).")
    min_year_sessions: int = Field(
        default=20, ge=1, description="Possible sessions this year before PA/SA is judged."
    )
    lookback_days: int = Field(default=14, ge=7, description="Days of marks read for runs.")
    spell_weeks: int = Field(
        default=12, ge=1, description="Weeks read to find where a low spell began."
    )
    max_age_days: int = Field(
        default=14, ge=0, description="Conditions whose evidence is older are not alerted."
    )
    post_batch: int = Field(default=1000, ge=1, le=5000, description="Candidates per POST.")

    def thresholds(self) -> AlertThresholds:
        return AlertThresholds(
            unexplained_sessions=self.unexplained_sessions,
            missing_education_days=self.missing_education_days,
            recent_weeks=self.recent_weeks,
            recent_attendance_below=self.recent_attendance_below,
            min_recent_sessions=self.min_recent_sessions,
            persistent_percent=self.persistent_percent,
            severe_percent=self.severe_percent,
            min_year_sessions=self.min_year_sessions,
        )


class MetricsSettings(ServiceSettings):
    """Everything the metrics service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="METRICS_", env_nested_delimiter="__", extra="ignore"
    )

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite:///.data/metrics.db")
    )
    feed_consumer_enabled: bool = Field(
        default=True, description="Run the background thread that applies ingest's change feed."
    )
    feed_poll_interval_seconds: float = Field(
        default=0.5, gt=0, description="How often the consumer polls the feed when not woken."
    )
    feed_page_limit: int = Field(
        default=1000, ge=1, le=10000, description="Changes asked for per feed page."
    )
    suppression_threshold: int = Field(
        default=5,
        ge=1,
        description="Groups of fewer enrolments, and absentee counts below this, are shown "
        "as `c` to callers who may see aggregates only.",
    )
    policy_cache_seconds: float = Field(
        default=300.0,
        ge=0,
        description="The longest a caller's Reach or visible schools are reused, and only "
        "while sharing's policy version and day stay the same.",
    )
    directory_cache_seconds: float = Field(
        default=300.0,
        ge=0,
        description="The longest the school directory is reused, on the same condition.",
    )
    week_columns_years: int = Field(
        default=2,
        ge=0,
        description="Academic years of week rows (with their days) each process keeps in "
        "memory for breakdowns, weekly series and the children view (about 50 MB per year "
        "for 30,000 pupils), with every enrolment's row and the children view's latest "
        "weeks of marks; 0 asks the database every time.",
    )
    early_warning: EarlyWarningSettings = Field(default_factory=EarlyWarningSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
