"""Sending: e-mail over SMTP (``smtplib``, one kept-open connection) and SMS via a provider.

Every failure becomes a :class:`SendError` that says whether trying again can help: a
recipient refused with a 5xx is permanent; a refused connection, a 4xx, a timeout or a
dropped connection is retried later by the worker.
"""

from __future__ import annotations

import email.utils
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go, as plain values (rendered, addressed, with its Message-ID)."""

    pk: int
    channel: str
    recipient: str
    recipient_name: str
    message_id: str
    subject: str
    body: str
    unsubscribe_url: str | None = None


# SMTP wants CRLF line ends; smtplib converts them for str messages only, not for bytes.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)
# Readable French text on the wire (quoted-printable), not base64.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def email_message(out: Outgoing, sender: str, date: float | None = None) -> Message:
    """The MIME message; marketing ones carry RFC 8058 one-click unsubscribe headers.

    Built with the compat32 classes (``MIMEText``, ``Header``): the same bytes on the wire as
    ``EmailMessage`` for a plain-text message, at a fifth of the cost per message.
    """
    message = MIMEText(out.body, "plain", _UTF8_QP)  # type: ignore[arg-type]
    message["From"] = sender
    message["To"] = email.utils.formataddr((out.recipient_name, out.recipient), charset="utf-8")
    message["Subject"] = Header(out.subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = email.utils.formatdate(date, localtime=False)
    message["Message-ID"] = out.message_id
    if out.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{out.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "plain", "starttls" or "ssl"
    username: str | None
    password: str | None
    timeout: float

    @classmethod
    def from_url(cls, url: str, timeout: float) -> SmtpSettings:
        """``smtp://host:25``, ``smtp+starttls://user:pass@host:587``, ``smtps://host:465``."""
        parts = urlsplit(url)
        security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise ValueError(
                "COMPTOIR_SMTP_URL must look like smtp://host:25, smtp+starttls://user:pass@host"
                ":587 or smtps://user:pass@host:465"
            )
        default_port = {"plain": 25, "starttls": 587, "ssl": 465}[security]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )


class Mailer:
    """One SMTP connection, opened on first use and kept for the next messages."""

    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self.settings = settings
        self.sender = sender
        # The envelope sender: the address part of MAIL_FROM.
        self.address = email.utils.parseaddr(sender)[1] or sender
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def send(self, out: Outgoing) -> None:
        message = email_message(out, self.sender)
        for attempt in (1, 2):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.sendmail(self.address, [out.recipient], message.as_bytes(policy=_WIRE))
                return
            except smtplib.SMTPServerDisconnected as exc:
                # A kept-open connection the server closed meanwhile: one fresh try.
                self.close()
                if attempt == 2:
                    raise SendError(f"SMTP server disconnected: {exc}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                code, text = next(iter(exc.recipients.values()))
                raise SendError(
                    f"Recipient refused: {code} {_text(text)}", permanent=code >= 500
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise SendError(
                    f"SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                    permanent=exc.smtp_code >= 500
                    and not isinstance(exc, smtplib.SMTPConnectError),
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:  # refused, timeout, TLS, reset
                self.close()
                kind = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else "failed"
                raise SendError(f"SMTP {kind}: {type(exc).__name__}: {exc}") from exc

    def _reset(self) -> None:
        """After a refused message the session may be mid-transaction: RSET, or reconnect."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmsProvider(Protocol):
    """Sends one text message; raises SendError. ``reference`` is stable across retries."""

    def send(self, to: str, text: str, reference: str) -> None: ...


class HttpSmsProvider:
    """A generic HTTP SMS gateway: ``POST {url}`` with JSON ``{from, to, text, reference}``,
    ``Authorization: Bearer <token>`` and ``Idempotency-Key: <reference>`` (most gateways
    deduplicate on it). 2xx is sent; 4xx other than 408/429 is permanent; the rest is retried.
    """

    def __init__(self, url: str, token: str, sender: str, timeout: float) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError("COMPTOIR_SMS_URL must be an http(s) URL.")
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def send(self, to: str, text: str, reference: str) -> None:
        body = json.dumps({"from": self.sender, "to": to, "text": text, "reference": reference})
        headers: dict[str, Any] = {
            "Content-Type": "application/json",
            "Idempotency-Key": reference,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # The scheme was checked above: never file: or another custom scheme.
        request = urllib.request.Request(  # noqa: S310
            self.url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            exc.close()
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise SendError(
                f"SMS gateway answered {exc.code} {detail}", permanent=permanent
            ) from exc
        except (OSError, ValueError) as exc:
            raise SendError(f"SMS gateway failed: {type(exc).__name__}: {exc}") from exc
