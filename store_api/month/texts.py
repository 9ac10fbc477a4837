"""The month as sections of labelled figures, in one language: the page, the PDF and the CLI
all show these (no Flask: ``i18n.text``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from store_api import i18n
from store_api.i18n import plural, text
from store_api.month.service import Month


@dataclass(frozen=True)
class Figure:
    label: str
    value: str


@dataclass
class Section:
    key: str  # sales, tablets, last_units, help, recommendations, reminders, feeds
    title: str
    figures: list[Figure] = field(default_factory=list)
    note: str = ""
    available: bool = True


def title(month: Month, locale: str) -> str:
    name = i18n.format_date(month.first, locale, "LLLL yyyy")
    return text(locale, "The month at a glance: %(month)s", month=name)


def period(month: Month, locale: str) -> str:
    start = i18n.format_date(month.first, locale)
    end = i18n.format_date(month.last, locale)
    if month.complete:
        return text(locale, "From %(start)s to %(end)s.", start=start, end=end)
    return text(locale, "From %(start)s to %(end)s; the month is not over yet.", start=start,
                end=end)  # fmt: skip


def duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return text(locale, "%(s)s s", s=whole)
    return text(locale, "%(m)s min %(s)s s", m=whole // 60, s=f"{whole % 60:02d}")


def _share(part: int, whole: int, locale: str) -> str:
    return i18n.format_percent(part / whole, locale, 0) if whole else "-"


def sections(month: Month, locale: str) -> list[Section]:
    money = lambda value: i18n.format_money(value, locale)  # noqa: E731
    number = lambda value: i18n.format_number(value, locale)  # noqa: E731
    found = []

    sold = Section("sales", text(locale, "Sales by channel"))
    channel_names = {"store": text(locale, "Store"), "web": text(locale, "Webshop")}
    for channel in month.sales:
        sold.figures.append(
            Figure(
                channel_names[channel.channel],
                text(
                    locale,
                    "%(revenue)s (%(sales)s, %(units)s)",
                    revenue=money(channel.revenue),
                    sales=plural(
                        locale,
                        "%(num)s sale",
                        "%(num)s sales",
                        channel.sales,
                        num=number(channel.sales),
                    ),
                    units=plural(
                        locale,
                        "%(num)s unit",
                        "%(num)s units",
                        channel.units,
                        num=number(channel.units),
                    ),
                ),
            )
        )
    sold.figures.append(Figure(text(locale, "Total"), money(month.revenue)))
    if month.estimated_revenue > Decimal(0):
        sold.note = text(
            locale,
            "%(amount)s of it priced at the catalogue price (sales made before prices were "
            "recorded).",
            amount=money(month.estimated_revenue),
        )
    found.append(sold)

    tablets = month.tablets
    assert tablets is not None
    found.append(
        Section(
            "tablets",
            text(locale, "Holds made from tablets"),
            [
                Figure(text(locale, "Holds"), number(tablets.holds)),
                Figure(
                    text(locale, "Turned into sales"),
                    f"{number(tablets.sold)} ({_share(tablets.sold, tablets.holds, locale)})",
                ),
                Figure(text(locale, "Revenue of these sales"), money(tablets.revenue)),
            ],
        )
    )

    units = month.last_units
    assert units is not None
    found.append(
        Section(
            "last_units",
            text(locale, "Last units both channels wanted"),
            [
                Figure(text(locale, "Refused: the other channel had them"), number(units.refusals)),
                Figure(text(locale, "Units"), number(units.units)),
                Figure(text(locale, "Products"), number(units.skus)),
            ],
            text(
                locale,
                "With two separate stocks, these units would have been sold twice; the shared "
                "stock refused them instead.",
            ),
        )
    )

    help_ = month.help
    assert help_ is not None
    found.append(
        Section(
            "help",
            text(locale, "Help alerts"),
            [
                Figure(text(locale, "Alerts"), number(help_.alerts)),
                Figure(text(locale, "Answered"), number(help_.acknowledged)),
                Figure(text(locale, "Median response time"), duration(help_.median_s, locale)),
                Figure(
                    text(locale, "9 alerts out of 10 answered within"),
                    duration(help_.p90_s, locale),
                ),
                Figure(text(locale, "Nobody went"), number(help_.not_acknowledged)),
            ],
        )
    )

    recommended = month.recommendations
    assert recommended is not None
    found.append(
        Section(
            "recommendations",
            text(locale, "What the recommendations brought"),
            [
                Figure(
                    text(locale, "Shown → accepted → sold"),
                    f"{number(recommended.shown)} → {number(recommended.accepted)} → "
                    f"{number(recommended.sold)}",
                ),
                Figure(text(locale, "Revenue"), money(recommended.revenue)),
            ],
        )
    )

    reminders = month.reminders
    assert reminders is not None
    found.append(
        Section(
            "reminders",
            text(locale, "What the reminders brought"),
            [
                Figure(text(locale, "Reminders sent"), number(reminders.sent)),
                Figure(
                    text(locale, "Customers who came back"),
                    # The return rate as the Relances page writes it (one decimal).
                    f"{number(reminders.came_back)} "
                    f"({i18n.format_percent(reminders.return_rate, locale)})",
                ),
                Figure(text(locale, "Revenue"), money(reminders.revenue)),
            ],
            plural(
                locale,
                "Came back: held, bought or ordered within %(num)s day after a reminder sent "
                "this month; revenue: their sales in that time, at today's prices, each counted "
                "once.",
                "Came back: held, bought or ordered within %(num)s days after a reminder sent "
                "this month; revenue: their sales in that time, at today's prices, each counted "
                "once.",
                reminders.comeback_days,
                num=number(reminders.comeback_days),
            ),
        )
    )

    feeds = month.feeds
    assert feeds is not None
    found.append(
        Section(
            "feeds",
            text(locale, "Supplier feeds applied"),
            [
                Figure(text(locale, "Files applied"), number(feeds.applied)),
                Figure(text(locale, "Suppliers"), number(feeds.suppliers)),
                Figure(text(locale, "New products"), number(feeds.created)),
                Figure(text(locale, "Changes"), number(feeds.changed)),
            ],
        )
    )
    return found
