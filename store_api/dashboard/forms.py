"""Reading the owner's forms: each field's value, or a French message that names it.

Pages show every problem at once next to its field (``errors[name]``), keep what was typed,
and answer 422; nothing is written until the whole form is valid.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from store_api.schemas import bad_text


class FormErrors(dict[str, str]):
    """Field name -> the message shown under it."""


def field(
    form: Mapping[str, str],
    name: str,
    errors: FormErrors,
    *,
    required: bool = False,
    max_length: int = 255,
    multiline: bool = False,
) -> str:
    """A text field, stripped: too long, empty when required, or unstorable is an error."""
    value = form.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if not multiline:
        value = " ".join(value.split())
    if required and not value:
        errors[name] = _("Fill in this field.")
    elif len(value) > max_length:
        errors[name] = _(
            "At most %(max)s characters (this one has %(length)s).",
            max=max_length,
            length=len(value),
        )
    elif bad_text(value):
        errors[name] = _("This text holds characters that cannot be kept; type it again.")
    return value


def choice(
    form: Mapping[str, str], name: str, allowed: Mapping[str, object], errors: FormErrors
) -> str:
    """One of ``allowed``'s keys (a select or radio buttons)."""
    value = form.get(name, "")
    if value not in allowed:
        errors[name] = _("Choose one of the proposed values.")
        return ""
    return value
