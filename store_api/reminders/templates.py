"""Message templates: the built-in French texts, checking an owner's edit, rendering.

Templates are Jinja, rendered in a sandbox (an owner's template cannot reach Python objects)
with strict undefined values: a placeholder that does not exist is an error when the owner
saves the template, never a blank in a customer's message.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from store_api.reminders.kinds import RULES, Channel, Kind, sample_context

_SIGNATURE = "\n\nÀ bientôt,\nL'équipe {{ shop_name }}\n"
_UNSUBSCRIBE = (
    "\n\n--\nVous ne souhaitez plus recevoir nos suggestions ? "
    "Désinscription en un clic : {{ unsubscribe_url }}\n"
)

DEFAULTS: dict[tuple[Kind, Channel], tuple[str, str]] = {
    (Kind.HELD_ITEM, Channel.EMAIL): (
        "{% if moment == 'eve' %}Rappel : votre {{ product_name }} vous attend jusqu'au "
        "{{ expires_on }}{% else %}Votre {{ product_name }} est mis de côté{% endif %}",
        "Bonjour {{ customer_name }},\n\n"
        "{% if moment == 'eve' %}"
        "Petit rappel : {{ product_name }} vous attend toujours en magasin, "
        "jusqu'au {{ expires_at }}.\n"
        "{% else %}"
        "Nous avons mis de côté pour vous : {{ product_name }} (quantité : {{ quantity }}).\n"
        "Il vous attend en magasin jusqu'au {{ expires_at }}.\n"
        "{% endif %}"
        "\nPassé ce délai, l'article retournera en rayon. Un empêchement ? "
        "Répondez simplement à ce message." + _SIGNATURE,
    ),
    (Kind.HELD_ITEM, Channel.SMS): (
        "",
        "{{ shop_name }} : {% if moment == 'eve' %}rappel, votre {{ product_name }} vous attend "
        "jusqu'au {{ expires_at }}.{% else %}votre {{ product_name }} est mis de côté jusqu'au "
        "{{ expires_at }}.{% endif %}",
    ),
    (Kind.BACK_IN_STOCK, Channel.EMAIL): (
        "{{ product_name }} est de retour en stock",
        "Bonjour {{ customer_name }},\n\n"
        "Bonne nouvelle : {{ product_name }} est de nouveau disponible chez {{ shop_name }}, "
        "au prix de {{ price }}.\n\n"
        "Vous nous aviez demandé de vous prévenir : c'est fait, et nous ne vous écrirons plus "
        "à ce sujet. Les quantités peuvent partir vite : passez en magasin ou commandez sur "
        "{{ shop_url }}." + _SIGNATURE,
    ),
    (Kind.BACK_IN_STOCK, Channel.SMS): (
        "",
        "{{ shop_name }} : {{ product_name }} est de retour en stock ({{ price }}). {{ shop_url }}",
    ),
    (Kind.FORGOTTEN_CHECKOUT, Channel.EMAIL): (
        "Votre {{ product_name }} vous attend toujours",
        "Bonjour {{ customer_name }},\n\n"
        "Vous aviez choisi {{ product_name }} ({{ price }}) sur notre boutique en ligne sans "
        "terminer votre commande. Il est toujours disponible : {{ shop_url }}\n\n"
        "Une question avant de vous décider ? Nos vendeurs vous répondent en magasin ou par "
        "retour de ce message." + _SIGNATURE + _UNSUBSCRIBE,
    ),
    (Kind.FORGOTTEN_CHECKOUT, Channel.SMS): (
        "",
        "{{ shop_name }} : votre {{ product_name }} vous attend toujours ({{ price }}) sur "
        "{{ shop_url }}. STOP : {{ unsubscribe_url }}",
    ),
    (Kind.CONSUMABLE, Channel.EMAIL): (
        "Le moment de renouveler : {{ product_name }}",
        "Bonjour {{ customer_name }},\n\n"
        "Vous avez acheté {{ bought_product_name }} chez nous le {{ bought_on }}. Pour qu'il "
        "continue de bien fonctionner, c'est le bon moment de remplacer ce qui va avec :\n\n"
        "    {{ product_name }} : {{ price }}\n\n"
        "Disponible en magasin et sur {{ shop_url }}." + _SIGNATURE + _UNSUBSCRIBE,
    ),
    (Kind.CONSUMABLE, Channel.SMS): (
        "",
        "{{ shop_name }} : pensez à renouveler {{ product_name }} ({{ price }}) pour votre "
        "{{ bought_product_name }}. STOP : {{ unsubscribe_url }}",
    ),
}

# Longest template an owner may save (a message, not a document).
MAX_TEMPLATE_CHARS = 5000


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class TemplateProblem(ValueError):
    """An owner's template that cannot be used: which part (subject or body) and why."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
        self.message = message


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@functools.lru_cache(maxsize=256)
def _compile(source: str, part: str) -> object:
    try:
        return _env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"Syntax error on line {exc.lineno}: {exc.message}") from exc


def check(kind: Kind, channel: Channel, subject: str, body: str) -> Rendered:
    """Refuse a template that would fail or mislead at send time; return the sample render."""
    allowed = set(RULES[kind].placeholders)
    parts = {"body": body} if channel == Channel.SMS else {"subject": subject, "body": body}
    for part, source in parts.items():
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateProblem(part, f"At most {MAX_TEMPLATE_CHARS} characters.")
        if not source.strip():
            raise TemplateProblem(part, "Must not be empty.")
        try:
            used = meta.find_undeclared_variables(_env.parse(source))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(
                part, f"Syntax error on line {exc.lineno}: {exc.message}"
            ) from exc
        unknown = sorted(used - allowed)
        if unknown:
            raise TemplateProblem(
                part,
                f"Unknown placeholder(s): {', '.join(unknown)}. "
                f"Available: {', '.join(RULES[kind].placeholders)}.",
            )
    if "unsubscribe_url" in allowed and "unsubscribe_url" not in body:
        raise TemplateProblem(
            "body", "A marketing message must keep its unsubscribe link: {{ unsubscribe_url }}."
        )
    return render(channel, subject, body, sample_context(kind))


def render(channel: Channel, subject: str, body: str, values: Mapping[str, object]) -> Rendered:
    """Fill a template in; raises TemplateProblem when it cannot be (the message is retried)."""
    rendered = {}
    for part, source in (("subject", subject), ("body", body)):
        if part == "subject" and channel == Channel.SMS:
            rendered[part] = ""
            continue
        template = _compile(source, part)
        try:
            text = template.render(values)  # type: ignore[attr-defined]
        except TemplateError as exc:
            raise TemplateProblem(part, f"Cannot be filled in: {exc}") from exc
        rendered[part] = text
    # A header line cannot carry line breaks.
    return Rendered(" ".join(rendered["subject"].split()), rendered["body"])
