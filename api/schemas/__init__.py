"""Request and response bodies, one module per entity (`XCreate`, `XUpdate`, `XPublic`,
`XsPublic`), all pydantic models with OpenAPI examples."""

from api.schemas.auth import LoginRequest, LogoutRequest, RefreshRequest, TokenPair
from api.schemas.common import FieldError, Problem, error_responses
from api.schemas.forms import Consent, FormFields, FormSubmission, SubmissionReceipt, Utm
from api.schemas.health import ComponentHealth, Health
from api.schemas.leads import LeadPublic
from api.schemas.users import UserPublic

__all__ = [
    "ComponentHealth", "Consent", "FieldError", "FormFields", "FormSubmission",
    "Health", "LeadPublic", "LoginRequest", "LogoutRequest", "Problem", "RefreshRequest",
    "SubmissionReceipt", "TokenPair", "UserPublic", "Utm", "error_responses",
]
