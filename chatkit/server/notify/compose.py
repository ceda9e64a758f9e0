"""The notification email: plain text and HTML, headers that mail clients and providers expect.

One email covers the unread messages of one conversation (coalesced by the worker). It says
who wrote, about which mentoring session, and links to the conversation; with content left
out (notify_include_content = false) it says only who wrote and how many messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from html import escape
from typing import cast

from chatkit.server.data.store.notifications import Delivery, QueuedMessage
from chatkit.server.data.store.records import MessageRecord
from chatkit.server.notify.unsubscribe import unsubscribe_url

# An email is a nudge, not a transcript: the latest few messages, each cut to a readable size.
MAX_MESSAGES_SHOWN = 10
MAX_CHARS_SHOWN = 1000


class _VerbatimHeader(UnstructuredHeader):
    """A header written as is. The default policy would fold a long URL into RFC 2047
    encoded words, which mail clients do not decode in List-Unsubscribe (one-click breaks)."""

    def fold(self, *, policy: Policy) -> str:
        # The registry mixes BaseHeader (which has `name`) into this class at run time.
        return f"{self.name}: {self}{policy.linesep}"  # type: ignore[attr-defined]


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", cast(type[BaseHeader], _VerbatimHeader))
# Also used when the SMTP client flattens with its own policy: stored headers keep their class.
POLICY = default_policy.clone(header_factory=_HEADERS)


@dataclass(frozen=True, slots=True)
class EmailOptions:
    mail_from: str
    base_url: str
    include_content: bool
    # Called when an email is written, not at start-up: with RS256/ES256 and no jwt_secret
    # the secret file is only created (and needed) once there is an email to sign a link for.
    secret: Callable[[], str]

    @property
    def domain(self) -> str:
        address = parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "chatkit.invalid"


def conversation_url(base_url: str, conversation_id: str) -> str:
    return f"{base_url}/conversations/{conversation_id}"


def session_date(start: datetime) -> str:
    return f"{start:%a %d %b %Y, %H:%M} UTC"


def _count(n: int) -> str:
    return "a new message" if n == 1 else f"{n} new messages"


def _text_of(message: MessageRecord) -> str:
    text = message.content.strip()
    if len(text) > MAX_CHARS_SHOWN:
        text = text[:MAX_CHARS_SHOWN].rstrip() + "…"
    files = [str(item.get("filename", "file")) for item in message.attachments]
    if files:
        text = (text + "\n" if text else "") + "\n".join(f"[attachment: {f}]" for f in files)
    return text


def compose(delivery: Delivery, unread: list[QueuedMessage], options: EmailOptions) -> EmailMessage:
    """The email for `unread` (oldest first, at least one) of `delivery`'s conversation."""
    recipient = delivery.recipient
    sender = delivery.sender_name
    link = conversation_url(options.base_url, delivery.claim.conversation_id)
    unsubscribe = unsubscribe_url(options.base_url, options.secret(), recipient.id)
    when = session_date(delivery.session_start)
    newest = unread[-1].message

    email = EmailMessage(policy=POLICY)
    email["Subject"] = f"{sender} sent you {_count(len(unread))}"
    email["From"] = options.mail_from
    email["To"] = Address(display_name=recipient.full_name, addr_spec=recipient.email)
    email["Date"] = format_datetime(newest.created_at)
    # One id per claim: a rewritten .eml of the same claim replaces the file, and a provider
    # that sees the same id twice can tell it is the same email.
    email["Message-ID"] = f"<{delivery.claim.id}@{options.domain}>"
    email["List-Unsubscribe"] = f"<{unsubscribe}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 3834: vacation responders must not answer this.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Chatkit-Conversation"] = delivery.claim.conversation_id

    shown = unread[-MAX_MESSAGES_SHOWN:]
    body = _Email(delivery, shown, len(unread) - len(shown), options, link, unsubscribe, when)
    email.set_content(_plain(body))
    email.add_alternative(_html(body), subtype="html")
    return email


@dataclass(frozen=True, slots=True)
class _Email:
    """What both bodies, plain and HTML, say."""

    delivery: Delivery
    shown: list[QueuedMessage]
    hidden: int  # older unread messages left out
    options: EmailOptions
    link: str
    unsubscribe: str
    when: str

    @property
    def earlier(self) -> str:
        return f"{self.hidden} earlier message{'s' if self.hidden > 1 else ''}"


def _first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.split() else full_name


def _plain(email: _Email) -> str:
    total = len(email.shown) + email.hidden
    lines = [
        f"Hi {_first_name(email.delivery.recipient.full_name)},",
        "",
        f"{email.delivery.sender_name} sent you {_count(total)} in your conversation about the "
        f"mentoring session on {email.when}.",
        "",
    ]
    if email.options.include_content:
        if email.hidden:
            lines += [f"(… {email.earlier})", ""]
        for item in email.shown:
            message = item.message
            lines.append(f"{email.delivery.sender_name}, {message.created_at:%H:%M} UTC:")
            lines += [f"> {line}" if line else ">" for line in _text_of(message).splitlines()]
            lines.append("")
        lines.append(f"Reply: {email.link}")
    else:
        lines.append(f"Read and reply: {email.link}")
    lines += [
        "",
        "-- ",
        "You get this email because you were offline when the message arrived.",
        f"Stop these emails: {email.unsubscribe}",
    ]
    return "\n".join(lines) + "\n"


def _html(email: _Email) -> str:
    total = len(email.shown) + email.hidden
    sender = escape(email.delivery.sender_name)
    parts = [
        '<!DOCTYPE html><html><body style="font-family: sans-serif; color: #222;">',
        f"<p>Hi {escape(_first_name(email.delivery.recipient.full_name))},</p>",
        f"<p><strong>{sender}</strong> sent you {_count(total)} in your conversation about "
        f"the mentoring session on {escape(email.when)}.</p>",
    ]
    if email.options.include_content:
        if email.hidden:
            parts.append(f"<p><em>… {email.earlier}</em></p>")
        for item in email.shown:
            message = item.message
            body = "<br>".join(escape(line) for line in _text_of(message).splitlines())
            parts.append(
                '<blockquote style="margin: 0 0 12px; padding: 4px 12px; '
                'border-left: 3px solid #ccc;">'
                f'<div style="color: #666; font-size: 12px;">{sender}, '
                f"{message.created_at:%H:%M} UTC</div><div>{body}</div></blockquote>"
            )
    label = "Reply" if email.options.include_content else "Read and reply"
    parts += [
        f'<p><a href="{escape(email.link)}">{label}</a></p>',
        '<p style="color: #888; font-size: 12px;">You get this email because you were offline '
        f'when the message arrived. <a href="{escape(email.unsubscribe)}">Stop these emails</a>.'
        "</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
