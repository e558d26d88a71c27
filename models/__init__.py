"""The data model: accounts, licences, PINs, engineers, tickets, calls and the outbox."""

from models.accounts import Account, Contact, Licence, Product, account_products
from models.base import Base, UTCDateTime, utcnow
from models.counters import RateCounter
from models.engineers import Engineer
from models.enums import (
    CallOutcome,
    CallState,
    LicenceKind,
    NotificationChannel,
    NotificationStatus,
    PinKind,
    PinOutcome,
    TaskKind,
    TaskStage,
    TaskState,
    TicketOutcome,
    TicketStatus,
)
from models.mail import InboundMail, IntakeReview, MailOutcome, MailStatus
from models.notifications import Notification
from models.pins import PinAttempt, PinLockout, SupportPin
from models.portal import (
    Attachment,
    MessageAuthor,
    PortalSession,
    PortalSignInLink,
    PortalUser,
    TicketCategory,
    TicketMessage,
)
from models.ringing import AttemptStatus, RingAttempt
from models.schedules import RoutingConfigVersion
from models.tasks import Task, TicketAssignment
from models.tickets import Call, CallEvent, Ticket, parse_ticket_number, ticket_number
from models.users import (
    ApiToken,
    AuditEntry,
    CalendarFeed,
    DashboardSession,
    LoginAttempt,
    TicketFieldChange,
    TicketNote,
    TicketStatusChange,
    User,
    UserRole,
)

__all__ = [
    "Account",
    "ApiToken",
    "Attachment",
    "AttemptStatus",
    "AuditEntry",
    "Base",
    "CalendarFeed",
    "Call",
    "CallEvent",
    "CallOutcome",
    "CallState",
    "Contact",
    "DashboardSession",
    "Engineer",
    "InboundMail",
    "IntakeReview",
    "Licence",
    "LicenceKind",
    "LoginAttempt",
    "MailOutcome",
    "MailStatus",
    "MessageAuthor",
    "Notification",
    "NotificationChannel",
    "NotificationStatus",
    "PinAttempt",
    "PinKind",
    "PinLockout",
    "PinOutcome",
    "PortalSession",
    "PortalSignInLink",
    "PortalUser",
    "Product",
    "RateCounter",
    "RingAttempt",
    "RoutingConfigVersion",
    "SupportPin",
    "Task",
    "TaskKind",
    "TaskStage",
    "TaskState",
    "Ticket",
    "TicketAssignment",
    "TicketCategory",
    "TicketFieldChange",
    "TicketMessage",
    "TicketNote",
    "TicketOutcome",
    "TicketStatus",
    "TicketStatusChange",
    "UTCDateTime",
    "User",
    "UserRole",
    "account_products",
    "parse_ticket_number",
    "ticket_number",
    "utcnow",
]
