"""/api/conversations: list, get-or-create by session, get, history, send, mark read."""

from __future__ import annotations

from aiohttp import web

from chatkit.ids import parse_uuid
from chatkit.server.data.store.messages import MarkRead, NewMessage
from chatkit.server.data.store.records import ConversationView, Participants
from chatkit.server.errors import BadRequest, NotFound
from chatkit.server.http.auth import caller
from chatkit.server.http.routes.params import body, int_param, page_params, path_id
from chatkit.server.services import Services, services
from chatkit.server.wire import render
from chatkit.server.wire.jsonutil import json_response
from chatkit.server.wire.schemas import MAX_SEQ, SendMessageIn, SessionRef

routes = web.RouteTableDef()


async def _membership(request: web.Request) -> tuple[Services, str, Participants]:
    """The services, the caller and the participants of the `{id}` conversation, which the
    caller must be one of (404 otherwise: outsiders cannot tell it exists)."""
    app = services(request)
    user_id = caller(request).user_id
    participants = await app.store.conversations.require_participant(
        conversation_id=path_id(request, what="conversation"), user_id=user_id
    )
    return app, user_id, participants


@routes.get("/api/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    limit, offset = page_params(request, default_limit=20, max_limit=100)
    app = services(request)
    views = await app.store.conversations.list_for_user(
        user_id=caller(request).user_id, limit=limit, offset=offset
    )
    online = await app.presence.shown_online(_people(views))
    return json_response([render.conversation(view, online) for view in views])


@routes.post("/api/conversations/by-session")
async def open_by_session(request: web.Request) -> web.Response:
    ref = await body(request, SessionRef)
    session_id = parse_uuid(ref.session_id)
    if session_id is None:
        raise NotFound(f"no session {ref.session_id}", code="session_not_found")
    app = services(request)
    view, created = await app.store.conversations.get_or_create_for_session(
        session_id=session_id, user_id=caller(request).user_id
    )
    if created:
        participants = await app.store.conversations.participants(view.id)
        assert participants is not None
        await app.chat.join_participants(participants)
    online = await app.presence.shown_online(_people([view]))
    return json_response(render.conversation(view, online), status=201 if created else 200)


@routes.get("/api/conversations/{id}")
async def get_conversation(request: web.Request) -> web.Response:
    app = services(request)
    view = await app.store.conversations.view(
        conversation_id=path_id(request, what="conversation"), user_id=caller(request).user_id
    )
    online = await app.presence.shown_online(_people([view]))
    return json_response(render.conversation(view, online))


def _people(views: list[ConversationView]) -> set[str]:
    return {person.id for view in views for person in (view.mentor, view.mentee)}


@routes.get("/api/conversations/{id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    app, _, participants = await _membership(request)
    limit = int_param(request, "limit", default=50, low=1, high=100)
    before = _cursor(request, "before")
    after = _cursor(request, "after")
    after_seq = (
        int_param(request, "afterSeq", default=0, low=0, high=MAX_SEQ)
        if "afterSeq" in request.query
        else None
    )
    change_seq = int_param(request, "changeSeq", default=0, low=0, high=MAX_SEQ)
    if sum(cursor is not None for cursor in (before, after, after_seq)) > 1:
        raise BadRequest("use one of before, after and afterSeq", code="invalid_query")
    if after_seq is not None:
        page = await app.store.messages.after_seq(
            conversation_id=participants.conversation_id,
            seq=after_seq,
            limit=limit,
            changes_after=change_seq,
        )
    else:
        page = await app.store.messages.page(
            conversation_id=participants.conversation_id, limit=limit, before=before, after=after
        )
    forwards = after is not None or after_seq is not None
    return json_response(
        render.message_page(page, forwards=forwards, catch_up=after_seq is not None)
    )


def _cursor(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    cursor = parse_uuid(raw)
    if cursor is None:
        raise BadRequest(f"{name} must be a message id", code="invalid_cursor")
    return cursor


@routes.post("/api/conversations/{id}/messages")
async def send_message(request: web.Request) -> web.Response:
    app, sender_id, participants = await _membership(request)
    payload = await body(request, SendMessageIn)
    app.limits.message(sender_id)
    result = await app.writer.send(
        NewMessage(
            participants=participants,
            sender_id=sender_id,
            content=payload.content,
            content_type=payload.content_type,
            attachments=[item.wire() for item in payload.attachments],
            client_message_id=payload.client_message_id,
        )
    )
    return json_response(render.message(result.message), status=201 if result.created else 200)


@routes.patch("/api/conversations/{id}/read")
async def mark_read(request: web.Request) -> web.Response:
    app, reader_id, participants = await _membership(request)
    result = await app.writer.mark_read(MarkRead(participants, reader_id))
    return json_response(render.read_receipt(result))
