"""The operational schema (`app`), the `raw`, `ops` and `ml` tables, as SQLAlchemy models.

Importing this package registers every table on `Base.metadata`, which Alembic migrates.
"""

from salesops.models import (
    assignment,
    auth,
    crm,
    events,
    integrations,
    marketing,
    ml,
    ops,
    raw,
    sales,
    work,
)
from salesops.models.assignment import AssignmentRule, LeadAssignment, StageTaskTemplate
from salesops.models.auth import (
    ApiKey,
    AuditLog,
    LoginAttempt,
    Permission,
    Role,
    RolePermission,
    Team,
    User,
)
from salesops.models.base import Base
from salesops.models.crm import (
    Account,
    Attachment,
    Contact,
    ContactName,
    ContactSource,
    Lead,
    Note,
)
from salesops.models.events import Event
from salesops.models.integrations import (
    CrmIntegration,
    EmailIntegration,
    FinancialIntegration,
    IntegrationSyncRun,
    WebhookReceipt,
)
from salesops.models.marketing import (
    Campaign,
    CampaignDelivery,
    CampaignMember,
    CommunicationTemplate,
    Interaction,
    Segment,
)
from salesops.models.ml import (
    Attribution,
    Forecast,
    LeadScore,
    ModelDrift,
    ModelMetric,
    NextBestAction,
    SentimentAnalysis,
)
from salesops.models.ops import (
    CrmSyncLog,
    Cursor,
    LifecycleAction,
    LoadBatch,
    MergeRun,
    RejectedRow,
)
from salesops.models.raw import RAW_TABLES, raw_table_name
from salesops.models.sales import (
    Contract,
    Deal,
    DealStageHistory,
    Pipeline,
    PipelineStage,
    SalesTarget,
)
from salesops.models.work import (
    Notification,
    NotificationPreference,
    OutboundEmail,
    Reminder,
    Task,
)

__all__ = [
    "Base", "auth", "crm", "events", "integrations", "marketing", "ml", "ops", "raw", "sales",
    "work", "ApiKey", "AuditLog", "LoginAttempt", "Permission", "Role", "RolePermission", "Team",
    "User", "Account", "Attachment", "Contact", "ContactName", "ContactSource", "Lead", "Note",
    "Event",
    "CrmIntegration", "EmailIntegration", "FinancialIntegration", "IntegrationSyncRun",
    "Campaign", "CampaignDelivery", "CampaignMember", "CommunicationTemplate", "Interaction",
    "Segment",
    "Attribution", "Forecast", "LeadScore", "ModelDrift", "ModelMetric", "NextBestAction",
    "SentimentAnalysis",
    "CrmSyncLog", "Cursor", "LifecycleAction", "WebhookReceipt",
    "LoadBatch", "MergeRun", "RejectedRow", "RAW_TABLES", "raw_table_name", "Contract", "Deal",
    "DealStageHistory", "Pipeline", "PipelineStage", "SalesTarget", "Notification",
    "NotificationPreference",
    "OutboundEmail", "Reminder", "Task", "assignment", "AssignmentRule", "LeadAssignment",
    "StageTaskTemplate",
]
