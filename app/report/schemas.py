"""What the reports return (the JSON API's response models; pages, CSV and PDF render the same objects)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class RagMix(BaseModel):
    green: int = 0
    amber: int = 0
    red: int = 0

    @property
    def total(self) -> int:
        return self.green + self.amber + self.red

    def share(self, rag: str) -> float | None:
        return getattr(self, rag) / self.total if self.total else None


class ActivationMix(BaseModel):
    before_force: int = 0
    late: int = 0
    after_force: int = 0
    no_footage: int = 0


class FlaggedOfficer(BaseModel):
    staff_number: str
    name: str
    first_guidance_at: datetime
    non_green_after_guidance: int


class BreakdownRow(BaseModel):
    group: str
    incidents: int
    share_of_incidents: float | None
    share_with_footage: float | None
    share_all_on_before_force: float | None


class Breakdown(BaseModel):
    name: str = Field(description="location | planned | ethnicity | age_band | sex | disability")
    title: str
    rows: list[BreakdownRow]


class TrendMonth(BaseModel):
    month: str = Field(description="YYYY-MM (Europe/London)")
    incidents: int
    share_with_footage: float | None
    share_all_on_before_force: float | None
    median_lag_s: float | None
    rag: RagMix


class ComplianceSummary(BaseModel):
    establishment_id: int
    establishment_name: str
    period_from: date
    period_to: date
    generated_at: datetime
    incidents: int
    incidents_with_footage: int
    share_with_footage: float | None
    incidents_with_officers: int = Field(description="incidents with at least one involved officer checked")
    incidents_all_on_before_force: int
    share_all_on_before_force: float | None
    officer_checks: int = Field(description="involved officer x incident activation checks")
    activation: ActivationMix
    median_lag_s: float | None
    p90_lag_s: float | None
    mean_coverage: float | None
    rag: RagMix
    backlog: int
    median_hours_to_rating: float | None
    unacknowledged: int
    unacknowledged_overdue: int
    ack_overdue_days: int
    officers_flagged: list[FlaggedOfficer]
    breakdowns: list[Breakdown]
    trend: list[TrendMonth]


class OfficerMonth(BaseModel):
    month: str
    rag: RagMix
    share_green: float | None
    median_lag_s: float | None
    checks: int


class PhaseFigures(BaseModel):
    ratings: int
    share_green: float | None
    median_lag_s: float | None
    checks: int


class OfficerRating(BaseModel):
    footage_id: int
    recorded_at: datetime
    rag: str
    rated_at: datetime
    version: int
    guidance: str
    acknowledged_at: datetime | None
    reply: str = Field("", description="The officer's reply when they acknowledged the guidance")
    after_guidance: bool


class OfficerReport(BaseModel):
    staff_number: str
    name: str
    establishment_id: int
    generated_at: datetime
    ratings: RagMix
    share_green: float | None
    activation: ActivationMix
    median_lag_s: float | None
    first_guidance_at: datetime | None
    before: PhaseFigures
    after: PhaseFigures
    non_green_after_guidance: int
    flagged: bool
    unacknowledged: int
    months: list[OfficerMonth]
    history: list[OfficerRating]


class OfficerOverviewRow(BaseModel):
    staff_number: str
    name: str
    active: bool
    rated: int
    rag: RagMix
    share_green: float | None
    share_green_recent: float | None = Field(description="last 6 months")
    share_green_previous: float | None = Field(description="the 6 months before that")
    incidents: int
    no_footage: int
    median_lag_s: float | None
    first_guidance_at: datetime | None
    non_green_after_guidance: int
    flagged: bool
    unacknowledged: int
    sparkline: list[float | None] = Field(description="share green, month by month, last 12 months")

    @property
    def trend(self) -> str:
        if self.share_green_recent is None or self.share_green_previous is None:
            return "none"
        diff = self.share_green_recent - self.share_green_previous
        return "up" if diff > 0.05 else ("down" if diff < -0.05 else "flat")
