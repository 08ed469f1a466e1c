"""Every table, imported in one place so Alembic and `create_all` see the whole schema."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import Role, SignInAttempt, User, UserSession
from app.establishment.models import Camera, Establishment, EstablishmentKind
from app.footage.models import (
    Finding,
    Footage,
    FootageIncident,
    FootageStatus,
    FootageTombstone,
    Keyframe,
    LinkDismissal,
    OutboxJob,
    Segment,
    UploadSession,
)
from app.incident.models import (
    ActivationResult,
    Incident,
    IncidentCamera,
    IncidentStaff,
    IncidentSubject,
    NoFootageExplanation,
)
from app.rating.models import Acknowledgement, CalibrationAssignment, GuidanceTemplate, Rag, Rating
from app.staff.models import StaffMember

__all__ = [
    "Acknowledgement",
    "ActivationResult",
    "AuditEvent",
    "AuditHead",
    "CalibrationAssignment",
    "Camera",
    "Establishment",
    "EstablishmentKind",
    "Finding",
    "Footage",
    "FootageIncident",
    "FootageStatus",
    "FootageTombstone",
    "GuidanceTemplate",
    "Incident",
    "IncidentCamera",
    "IncidentStaff",
    "IncidentSubject",
    "Keyframe",
    "LinkDismissal",
    "NoFootageExplanation",
    "OutboxJob",
    "Rag",
    "Rating",
    "Role",
    "Segment",
    "SignInAttempt",
    "StaffMember",
    "UploadSession",
    "User",
    "UserSession",
]
