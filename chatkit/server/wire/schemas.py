"""Request bodies, validated at the edge. Wrong JSON types are 400; wrong values are 422."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chatkit.ids import parse_uuid
from chatkit.server.errors import BadRequest, Unprocessable
from chatkit.server.wire.jsonutil import JSONDecodeError, loads
from chatkit.timefmt import parse_instant
from chatkit.wire import ContentType, NewAttachment, SessionStatus

MAX_CONTENT_CHARS = 4000
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
# `seq` columns are 32-bit integers: a resume point beyond this is bad input, not a query.
MAX_SEQ = 2**31 - 1

# Error types that mean "this is not even the right shape" (400), as opposed to a value
# of the right type that is not allowed (422).
_SHAPE_ERRORS = {
    "missing",
    "model_type",
    "model_attributes_type",
    "dict_type",
    "list_type",
    "string_type",
    "int_type",
    "bool_type",
    "float_type",
    "int_from_float",
    "none_required",
    "is_instance_of",
}


def _uuid(value: str) -> str:
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValueError("must be a UUID")
    return parsed


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    # An offset is required on the wire: a bare local date-time names no instant, and taking
    # it as UTC would silently shift a platform's local times (the contract says 422).
    try:
        if datetime.fromisoformat(value).tzinfo is None:
            raise ValueError("no offset")
        return parse_instant(value)
    except ValueError:
        raise ValueError(
            "must be an ISO-8601 instant with an offset, such as 2024-01-15T10:00:00Z"
        ) from None


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


UUIDStr = Annotated[StrictStr, AfterValidator(_uuid)]
# An id we look up: any string; one that is not a UUID simply names nothing (404), so
# that malformed and unknown ids cannot be told apart.
IdStr = Annotated[StrictStr, Field(max_length=200)]
HttpUrl = Annotated[StrictStr, Field(max_length=2048), AfterValidator(_http_url)]
Text = Annotated[StrictStr, AfterValidator(_no_surrogates)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SessionRef(Body):
    session_id: IdStr = Field(alias="sessionId")


class AttachmentIn(Body):
    filename: Annotated[Text, Field(min_length=1, max_length=255)]
    mime_type: Annotated[Text, Field(min_length=1, max_length=255, alias="mimeType")]
    url: HttpUrl
    size: Annotated[StrictInt, Field(ge=0, le=MAX_ATTACHMENT_BYTES)]

    def wire(self) -> NewAttachment:
        return {
            "filename": self.filename,
            "mimeType": self.mime_type,
            "url": self.url,
            "size": self.size,
        }


class SendMessageIn(Body):
    content: Text = ""
    content_type: ContentType = Field(default="text", alias="contentType")
    attachments: Annotated[list[AttachmentIn], Field(max_length=MAX_ATTACHMENTS)] = []
    client_message_id: Annotated[Text | None, Field(min_length=1, max_length=64)] = Field(
        default=None, alias="clientMessageId"
    )

    @field_validator("content", mode="after")
    @classmethod
    def _trim(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _length(self) -> SendMessageIn:
        length = len(self.content)
        if length > MAX_CONTENT_CHARS:
            raise ValueError(f"content is longer than {MAX_CONTENT_CHARS} characters")
        if length == 0 and not self.attachments:
            raise ValueError("content must not be empty unless attachments are present")
        return self


class EditMessageIn(Body):
    """New text for a message: the sending rules, except that it may never be empty (the
    message's attachments stay as they are)."""

    content: Text

    @field_validator("content", mode="after")
    @classmethod
    def _trim(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("content must not be empty")
        if len(value) > MAX_CONTENT_CHARS:
            raise ValueError(f"content is longer than {MAX_CONTENT_CHARS} characters")
        return value


class UserIn(Body):
    full_name: Annotated[Text, Field(min_length=1, max_length=200, alias="fullName")]
    email: Annotated[Text, Field(min_length=3, max_length=320)]
    avatar_url: HttpUrl | None = Field(default=None, alias="avatarUrl")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if not at or not local or not domain or " " in value:
            raise ValueError("must be an email address")
        return value

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class SessionIn(Body):
    mentor_id: UUIDStr = Field(alias="mentorId")
    mentee_id: UUIDStr = Field(alias="menteeId")
    start_at: Annotated[datetime, BeforeValidator(_instant)] = Field(alias="startAt")
    status: SessionStatus


class NotificationPrefsIn(Body):
    email: StrictBool


# --- socket event payloads ---------------------------------------------------------------


class ConversationRef(Body):
    conversation_id: IdStr = Field(alias="conversationId")


class TypingIn(Body):
    conversation_id: IdStr = Field(alias="conversationId")
    is_typing: StrictBool = Field(alias="isTyping")


Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]


class SyncPoint(Body):
    """Where a client left a conversation: the last message and the last change it saw."""

    last_seq: Seq = Field(alias="lastSeq")
    change_seq: Seq = Field(default=0, alias="changeSeq")

    @property
    def pair(self) -> tuple[int, int]:
        return self.last_seq, self.change_seq


class SyncIn(Body):
    # A bare number is the seed-era form: lastSeq, every change up to it (changeSeq 0).
    conversations: dict[IdStr, Seq | SyncPoint]


class ReauthIn(Body):
    token: Annotated[StrictStr, Field(min_length=1, max_length=8192)]


BodyT = TypeVar("BodyT", bound=Body)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object", code="invalid_json")
    try:
        return loads(raw)
    except JSONDecodeError as exc:
        raise BadRequest(
            f"the request body is not valid JSON: {exc}", code="invalid_json"
        ) from None


def validate(model: type[BodyT], data: Any) -> BodyT:
    """Validate decoded JSON against `model`, raising the contract's 400 or 422."""
    if not isinstance(data, dict):
        raise BadRequest("the JSON body must be an object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _as_error(exc) from None


def _is_shape_error(error: Any) -> bool:
    if error["type"] in _SHAPE_ERRORS:
        return True
    # A choice among strings given something that is not a string is a type error too.
    return bool(error["type"] == "literal_error" and not isinstance(error.get("input"), str))


def _as_error(exc: ValidationError) -> BadRequest | Unprocessable:
    errors = exc.errors(include_url=False)
    shape = [e for e in errors if _is_shape_error(e)]
    first = shape[0] if shape else errors[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    text = f"{field}: {message}" if field else message
    if shape:
        return BadRequest(text, code="invalid_field")
    return Unprocessable(text, code="validation_error")
