"""Domain errors: a stable machine `code`, a Chinese-first message, optional field names.

Only app/errors.py knows HTTP status codes; services raise these and never return error values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: str = "domain_error"
    message: str = "操作失败 (operation failed)"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.fields = {k: list(v) for k, v in (fields or {}).items()}
        super().__init__(self.message)


class NotFound(DomainError):
    """The object does not exist, or belongs to another organization (existence is not leaked)."""

    code = "not_found"
    message = "未找到 (not found)"


class AuthenticationRequired(DomainError):
    code = "authentication_required"
    message = "需要登录 (authentication required)"


class PermissionDenied(DomainError):
    code = "permission_denied"
    message = "无权执行此操作 (permission denied)"


class InvalidState(DomainError):
    """The object is in a state that does not allow this action (an illegal transition)."""

    code = "invalid_state"
    message = "当前状态不允许此操作 (not allowed in the current state)"


class Conflict(DomainError):
    """The action collides with existing data (duplicate key, concurrent change)."""

    code = "conflict"
    message = "与现有数据冲突 (conflicts with existing data)"


class RuleViolation(DomainError):
    """Well-formed input that a procurement rule refuses (late bid, above ceiling, ...)."""

    code = "rule_violation"
    message = "违反业务规则 (violates a business rule)"


class ValidationFailed(DomainError):
    """Field-level validation done in a service (after the schema), e.g. a spreadsheet row."""

    code = "validation_failed"
    message = "输入数据无效 (invalid input)"


class UnsupportedMedia(DomainError):
    """An upload whose bytes are not of an accepted type (HTTP 415)."""

    code = "unsupported_media_type"
    message = "不支持的文件类型 (unsupported file type)"


class TooLarge(DomainError):
    """An upload beyond its configured size (HTTP 413)."""

    code = "payload_too_large"
    message = "文件过大 (file too large)"
