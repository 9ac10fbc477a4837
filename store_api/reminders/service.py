"""The owner's reminder settings and templates, and the message log (no Flask here)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from store_api.errors import ErrorCode, Invalid
from store_api.reminders import templates
from store_api.reminders.kinds import RULES, Channel, Kind
from store_api.reminders.models import ReminderMessage, ReminderSetting, ReminderTemplate

# Longest delay an owner may set: a year (consumables are renewed within one).
MAX_DELAY_MINUTES = 366 * 24 * 60


@dataclass(frozen=True)
class Setting:
    kind: Kind
    enabled: bool
    delay_minutes: int
    purpose: str
    delay_meaning: str
    updated_at: dt.datetime | None
    updated_by: str | None


def settings(session: Session) -> dict[Kind, Setting]:
    """Every kind's switch and delay: the owner's row, else the default."""
    rows = {row.kind: row for row in session.scalars(select(ReminderSetting))}
    found = {}
    for kind, rule in RULES.items():
        row = rows.get(kind.value)
        found[kind] = Setting(
            kind=kind,
            enabled=row.enabled if row else rule.enabled,
            delay_minutes=row.delay_minutes if row else rule.delay_minutes,
            purpose=rule.purpose.value,
            delay_meaning=rule.delay_meaning,
            updated_at=row.updated_at if row else None,
            updated_by=row.updated_by if row else None,
        )
    return found


def update_setting(
    session: Session,
    kind: Kind,
    *,
    enabled: bool | None,
    delay_minutes: int | None,
    actor: str,
    now: dt.datetime,
) -> Setting:
    if delay_minutes is not None and not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            "Delay out of range.",
            {"delay_minutes": [f"Must be between 0 and {MAX_DELAY_MINUTES}."]},
        )
    current = settings(session)[kind]
    row = session.get(ReminderSetting, kind.value)
    if row is None:
        row = ReminderSetting(kind=kind.value)
        session.add(row)
    row.enabled = current.enabled if enabled is None else enabled
    row.delay_minutes = current.delay_minutes if delay_minutes is None else delay_minutes
    row.updated_by, row.updated_at = actor, now
    session.flush()
    return settings(session)[kind]


@dataclass(frozen=True)
class TemplateSource:
    kind: Kind
    channel: Channel
    subject: str
    body: str
    customised: bool
    updated_at: dt.datetime | None = None
    updated_by: str | None = None


def template_for(session: Session, kind: Kind, channel: Channel) -> TemplateSource:
    row = session.get(ReminderTemplate, (kind.value, channel.value))
    if row is None:
        subject, body = templates.DEFAULTS[(kind, channel)]
        return TemplateSource(kind, channel, subject, body, customised=False)
    return TemplateSource(
        kind, channel, row.subject, row.body, True, row.updated_at, row.updated_by
    )


def all_templates(session: Session) -> list[TemplateSource]:
    """Every kind and channel, the owner's text or the built-in one (one query)."""
    rows = {(r.kind, r.channel): r for r in session.scalars(select(ReminderTemplate))}
    found = []
    for kind in Kind:
        for channel in Channel:
            row = rows.get((kind.value, channel.value))
            if row is None:
                subject, body = templates.DEFAULTS[(kind, channel)]
                found.append(TemplateSource(kind, channel, subject, body, customised=False))
            else:
                found.append(
                    TemplateSource(
                        kind, channel, row.subject, row.body, True, row.updated_at, row.updated_by
                    )
                )
    return found


def _invalid(problem: templates.TemplateProblem) -> Invalid:
    return Invalid(
        ErrorCode.TEMPLATE_INVALID,
        f"The template's {problem.part} cannot be used: {problem.message}",
        {problem.part: [problem.message]},
    )


def preview(kind: Kind, channel: Channel, subject: str, body: str) -> templates.Rendered:
    """The message as a customer would read it, with sample values; 422 if it is not usable."""
    try:
        return templates.check(kind, channel, subject, body)
    except templates.TemplateProblem as problem:
        raise _invalid(problem) from problem


def save_template(
    session: Session,
    kind: Kind,
    channel: Channel,
    *,
    subject: str,
    body: str,
    actor: str,
    now: dt.datetime,
) -> TemplateSource:
    preview(kind, channel, subject, body)
    row = session.get(ReminderTemplate, (kind.value, channel.value))
    if row is None:
        row = ReminderTemplate(kind=kind.value, channel=channel.value)
        session.add(row)
    row.subject = "" if channel == Channel.SMS else subject
    row.body, row.updated_by, row.updated_at = body, actor, now
    session.flush()
    return template_for(session, kind, channel)


def reset_template(session: Session, kind: Kind, channel: Channel) -> TemplateSource:
    """Back to the built-in text."""
    session.execute(
        delete(ReminderTemplate).where(
            ReminderTemplate.kind == kind.value, ReminderTemplate.channel == channel.value
        )
    )
    return template_for(session, kind, channel)


def messages(
    session: Session,
    *,
    customer_id: uuid.UUID | None,
    kind: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReminderMessage], int]:
    """The message log, newest first."""
    stmt = select(ReminderMessage)
    if customer_id is not None:
        stmt = stmt.where(ReminderMessage.customer_id == customer_id)
    if kind:
        stmt = stmt.where(ReminderMessage.kind == kind)
    if status:
        stmt = stmt.where(ReminderMessage.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(ReminderMessage.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(items), total
