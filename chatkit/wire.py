"""The contract's JSON objects, defined once: the REST answers, and on the Socket.IO side the
payload of each event the server pushes and the acknowledgements of the client's events. The
server renders them, the OpenAPI document describes the REST ones and chatkit.client parses
them, all from the definitions below.

Each object is a TypedDict whose keys are the wire's camelCase names, so that:

- the server's renderer (chatkit.server.wire.render) builds plain dicts that mypy checks
  against these definitions: no key missing, none extra, every value of its type, and no
  runtime cost on the hot path (orjson serialises the dicts as before);
- the OpenAPI component schemas are their pydantic JSON schema (`schema(...)`);
- the client validates what it receives with their `TypeAdapter` (`parse(...)`).

This module imports nothing of the server, so the client may import it.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, NotRequired, TypeVar, cast

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from chatkit import event_names

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
ERROR_CODE_PATTERN = "^[a-z0-9]+(_[a-z0-9]+)*$"

SessionStatus = Literal["scheduled", "in_progress", "completed", "cancelled"]
ContentType = Literal["text", "image", "file"]

Uuid = Annotated[str, Field(pattern=UUID_PATTERN, json_schema_extra={"format": "uuid"})]
Instant = Annotated[
    str,
    Field(
        pattern=INSTANT_PATTERN,
        description="UTC, millisecond precision, Z suffix: 2024-01-15T10:00:00.000Z",
        json_schema_extra={"format": "date-time"},
    ),
]
Count = Annotated[int, Field(ge=0)]


class ErrorDetail(TypedDict):
    code: Annotated[str, Field(pattern=ERROR_CODE_PATTERN)]
    message: Annotated[str, Field(min_length=1)]


class Error(TypedDict):
    """Every error, whatever the status."""

    error: ErrorDetail


OptionalInstant = Annotated[
    str | None,
    Field(pattern=INSTANT_PATTERN, json_schema_extra={"format": "date-time"}),
]


class Person(TypedDict):
    id: Uuid
    fullName: str
    avatarUrl: str | None
    # Presence (an extension): what `presence` events last said; when the last socket closed.
    online: Annotated[bool, Field(description="Shown online (presence).")]
    lastSeenAt: Annotated[
        OptionalInstant, Field(description="When the user's last socket closed; null if never.")
    ]


class SessionSummary(TypedDict):
    id: Uuid
    startAt: Instant
    status: SessionStatus


class LastMessage(TypedDict):
    id: Uuid
    content: Annotated[str, Field(description='The current text; "" once deleted.')]
    createdAt: Instant
    senderId: Uuid
    editedAt: OptionalInstant
    deletedAt: OptionalInstant


class Conversation(TypedDict):
    """A conversation as the caller sees it."""

    id: Uuid
    mentor: Person
    mentee: Person
    session: SessionSummary
    lastMessage: LastMessage | None
    unreadCount: Annotated[
        int,
        Field(ge=0, description="Messages of the other participant after the caller's last read."),
    ]
    updatedAt: Annotated[Instant, Field(description="Time of the last message, else creation.")]


class NewAttachment(TypedDict):
    """An attachment as a client sends it: the server gives it its id."""

    filename: str
    mimeType: str
    url: str
    size: Count


class Attachment(TypedDict):
    id: Uuid
    filename: str
    mimeType: str
    url: str
    size: Count


class Message(TypedDict):
    id: Annotated[Uuid, Field(description="A UUIDv7: ids sort as strings in send order.")]
    conversationId: Uuid
    seq: Annotated[int, Field(ge=1, description="1, 2, 3… within the conversation, without holes.")]
    senderId: Uuid
    content: str
    contentType: ContentType
    attachments: list[Attachment]
    clientMessageId: str | None
    createdAt: Instant
    editedAt: Annotated[OptionalInstant, Field(description="Time of the last edit, or null.")]
    deletedAt: Annotated[
        OptionalInstant,
        Field(description='Set on a tombstone (content "", no attachments), else null.'),
    ]


class CatchUp(TypedDict):
    """With afterSeq (and in `sync`): the messages up to that seq edited or deleted after
    change `changeSeq`, in their current state, and the cursor to pass next time."""

    changes: list[Message]
    changeSeq: Count
    changesHasMore: bool


class MessagePage(TypedDict):
    """Oldest first; nextCursor is set when hasMore is true. With afterSeq it also holds the
    edits and deletions to apply (catch-up)."""

    messages: list[Message]
    hasMore: bool
    nextCursor: Uuid | None
    changes: NotRequired[list[Message]]
    changeSeq: NotRequired[Count]
    changesHasMore: NotRequired[bool]


class ReadReceipt(TypedDict):
    """`PATCH …/read`'s answer, and the payload of the `messages_read` event."""

    conversationId: Uuid
    readBy: Uuid
    count: Annotated[int, Field(ge=0, description="How many messages this call newly marked read.")]


class User(TypedDict):
    id: Uuid
    fullName: str
    email: str
    avatarUrl: str | None
    notifyEmail: bool
    createdAt: Instant
    updatedAt: Instant


class Session(TypedDict):
    id: Uuid
    mentorId: Uuid
    menteeId: Uuid
    startAt: Instant
    status: SessionStatus
    createdAt: Instant
    updatedAt: Instant


class Revocation(TypedDict):
    userId: Uuid
    tokensValidAfter: Annotated[Instant, Field(description="Tokens issued before are refused.")]


class NotificationPrefs(TypedDict):
    email: Annotated[bool, Field(description="Emails about unread messages.")]


class Health(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    """One entry per dependency checked (database, redis, redis_listener); a 503 also
    carries `error`, like every error response."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]]
    error: NotRequired[ErrorDetail]


# --- Socket.IO, namespace /chat: what the server pushes, and its acknowledgements -----------


class NewMessage(TypedDict):
    """The `new_message` event: a message just stored."""

    conversationId: Uuid
    message: Message


class UserTyping(TypedDict):
    """The `user_typing` event."""

    conversationId: Uuid
    userId: Uuid
    isTyping: bool


class MessageUpdated(TypedDict):
    """The `message_updated` event: the message as edited."""

    conversationId: Uuid
    message: Message


class MessageDeleted(TypedDict):
    """The `message_deleted` event."""

    conversationId: Uuid
    messageId: Uuid
    deletedAt: Instant


class Presence(TypedDict):
    """The `presence` event."""

    userId: Uuid
    online: bool
    lastSeenAt: OptionalInstant


DisconnectCode = Literal["token_expired", "token_revoked"]


class Disconnecting(TypedDict):
    """`token_expired` and `token_revoked`: why the server is about to disconnect the socket."""

    code: DisconnectCode
    message: str


# Each event the server pushes, by name, and its payload (`messages_read` carries the same
# receipt as `PATCH …/read`).
SERVER_EVENTS: dict[str, type[Any]] = {
    event_names.NEW_MESSAGE: NewMessage,
    event_names.USER_TYPING: UserTyping,
    event_names.MESSAGES_READ: ReadReceipt,
    event_names.MESSAGE_UPDATED: MessageUpdated,
    event_names.MESSAGE_DELETED: MessageDeleted,
    event_names.PRESENCE: Presence,
    event_names.TOKEN_EXPIRED: Disconnecting,
    event_names.TOKEN_REVOKED: Disconnecting,
}


class Acked(TypedDict):
    """The acknowledgement of a client event that did what it asked."""

    ok: Literal[True]


class AckErrorDetail(ErrorDetail):
    retryAfter: NotRequired[
        Annotated[int, Field(ge=1, description="With rate_limited: seconds to wait.")]
    ]


class AckError(TypedDict):
    """The acknowledgement of a client event that failed; the socket stays connected."""

    ok: Literal[False]
    error: AckErrorDetail


class Reauthed(TypedDict):
    """The acknowledgement of `reauth`."""

    ok: Literal[True]
    expiresAt: Annotated[Instant, Field(description="When the socket is cut now.")]


class SyncedConversation(CatchUp):
    """One conversation of the `sync` answer: up to 100 messages after the seq given, the
    edits and deletions of earlier ones (CatchUp), and the read state of both sides."""

    messages: list[Message]
    hasMore: bool
    lastSeq: Count
    unreadCount: Count
    readSeq: Count
    otherReadSeq: Count


class Synced(TypedDict):
    """The acknowledgement of `sync`, by the conversation ids as the client sent them."""

    ok: Literal[True]
    conversations: dict[str, SyncedConversation]


# Every response object of the REST API, by its name in the OpenAPI document.
OBJECTS: tuple[type[Any], ...] = (
    Error,
    Person,
    SessionSummary,
    LastMessage,
    Conversation,
    Attachment,
    Message,
    MessagePage,
    ReadReceipt,
    User,
    Session,
    Revocation,
    NotificationPrefs,
    Health,
    Readiness,
)

W = TypeVar("W")


class WireError(ValueError):
    """JSON that does not have the shape of the object it should be."""


def adapter(kind: type[W]) -> TypeAdapter[W]:
    """Built on first use (a few ms each), so importing the client stays fast."""
    return cast("TypeAdapter[W]", _adapter(cast(Any, kind)))


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def parse(kind: type[W], data: Any) -> W:
    """`data` checked against `kind` (strictly: no "5" for 5); keys it does not define are
    dropped, so a client keeps working with a server that added fields."""
    try:
        return adapter(kind).validate_python(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise WireError(f"{kind.__name__}: at {where}: {first['msg']}") from None


def schema(kind: type[Any], *, ref_template: str) -> dict[str, Any]:
    """The JSON schema of `kind` as a response: every key present and nothing else."""
    return adapter(kind).json_schema(ref_template=ref_template, mode="serialization")
