"""Contains all the data models used in inputs/outputs"""

from .account_notice_response import AccountNoticeResponse
from .account_profile import AccountProfile
from .account_terms_response import AccountTermsResponse
from .accounts_export_me_response_200 import AccountsExportMeResponse200
from .activation_request import ActivationRequest
from .activation_response import ActivationResponse
from .client_description import ClientDescription
from .client_registered import ClientRegistered
from .client_registration import ClientRegistration
from .client_secret import ClientSecret
from .compromise_report import CompromiseReport
from .contacts_response import ContactsResponse
from .death_record import DeathRecord
from .death_recording import DeathRecording
from .deliverable_link_response import DeliverableLinkResponse
from .directives_asked import DirectivesAsked
from .directives_of_holder import DirectivesOfHolder
from .email_change import EmailChange
from .email_change_pending import EmailChangePending
from .email_confirmation import EmailConfirmation
from .field_error import FieldError
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .judicial_client_registered import JudicialClientRegistered
from .judicial_client_registration import JudicialClientRegistration
from .link_check_request import LinkCheckRequest
from .link_check_request_purpose import LinkCheckRequestPurpose
from .link_check_response import LinkCheckResponse
from .login_request import LoginRequest
from .mobile_change import MobileChange
from .password_change import PasswordChange
from .password_confirmation import PasswordConfirmation
from .post_mortem_directives import PostMortemDirectives
from .post_mortem_erasure import PostMortemErasure
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .recovery_codes import RecoveryCodes
from .rectification_answer import RectificationAnswer
from .rectification_asked import RectificationAsked
from .rectification_outcome import RectificationOutcome
from .rectification_request import RectificationRequest
from .refresh_request import RefreshRequest
from .reset_completion import ResetCompletion
from .reset_request import ResetRequest
from .session_response import SessionResponse
from .suspension import Suspension
from .termination_request import TerminationRequest
from .termination_response import TerminationResponse
from .terms_answer import TermsAnswer
from .terms_decision_response import TermsDecisionResponse
from .terms_notice_counts_response import TermsNoticeCountsResponse
from .terms_publication import TermsPublication
from .terms_response import TermsResponse
from .tokens_jwks_response_tokens_jwks import TokensJwksResponseTokensJwks
from .tokens_jwks_response_tokens_jwks_additional_property_item import (
    TokensJwksResponseTokensJwksAdditionalPropertyItem,
)
from .tokens_revocations_response_tokens_revocations import TokensRevocationsResponseTokensRevocations
from .tokens_revocations_response_tokens_revocations_additional_property_item import (
    TokensRevocationsResponseTokensRevocationsAdditionalPropertyItem,
)
from .tokens_token_body import TokensTokenBody
from .tokens_token_body_grant_type import TokensTokenBodyGrantType
from .tokens_token_response_200 import TokensTokenResponse200
from .tokens_token_response_200_token_type import TokensTokenResponse200TokenType
from .tokens_token_response_400 import TokensTokenResponse400
from .tokens_token_response_401 import TokensTokenResponse401
from .totp_code import TotpCode
from .totp_enrolment_response import TotpEnrolmentResponse
from .validation_problem import ValidationProblem

__all__ = (
    "AccountNoticeResponse",
    "AccountProfile",
    "AccountsExportMeResponse200",
    "AccountTermsResponse",
    "ActivationRequest",
    "ActivationResponse",
    "ClientDescription",
    "ClientRegistered",
    "ClientRegistration",
    "ClientSecret",
    "CompromiseReport",
    "ContactsResponse",
    "DeathRecord",
    "DeathRecording",
    "DeliverableLinkResponse",
    "DirectivesAsked",
    "DirectivesOfHolder",
    "EmailChange",
    "EmailChangePending",
    "EmailConfirmation",
    "FieldError",
    "HealthLiveResponseHealthLive",
    "JudicialClientRegistered",
    "JudicialClientRegistration",
    "LinkCheckRequest",
    "LinkCheckRequestPurpose",
    "LinkCheckResponse",
    "LoginRequest",
    "MobileChange",
    "PasswordChange",
    "PasswordConfirmation",
    "PostMortemDirectives",
    "PostMortemErasure",
    "Problem",
    "ProblemType",
    "Readiness",
    "RecoveryCodes",
    "RectificationAnswer",
    "RectificationAsked",
    "RectificationOutcome",
    "RectificationRequest",
    "RefreshRequest",
    "ResetCompletion",
    "ResetRequest",
    "SessionResponse",
    "Suspension",
    "TerminationRequest",
    "TerminationResponse",
    "TermsAnswer",
    "TermsDecisionResponse",
    "TermsNoticeCountsResponse",
    "TermsPublication",
    "TermsResponse",
    "TokensJwksResponseTokensJwks",
    "TokensJwksResponseTokensJwksAdditionalPropertyItem",
    "TokensRevocationsResponseTokensRevocations",
    "TokensRevocationsResponseTokensRevocationsAdditionalPropertyItem",
    "TokensTokenBody",
    "TokensTokenBodyGrantType",
    "TokensTokenResponse200",
    "TokensTokenResponse200TokenType",
    "TokensTokenResponse400",
    "TokensTokenResponse401",
    "TotpCode",
    "TotpEnrolmentResponse",
    "ValidationProblem",
)
