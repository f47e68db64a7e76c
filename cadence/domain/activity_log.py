"""The kinds of sales activity the engine logs, with the titles Marketo Sales Insight Actions
gives them."""

from __future__ import annotations

from enum import StrEnum


class ActivityKind(StrEnum):
    send_email = "send_email"
    open_email = "open_email"
    click_email = "click_email"
    reply_email = "reply_email"
    email_bounced = "email_bounced"
    call = "call"
    add_to_campaign = "add_to_campaign"
    remove_from_campaign = "remove_from_campaign"
    unsubscribe = "unsubscribe"


ACTIVITY_TITLES: dict[ActivityKind, str] = {
    ActivityKind.send_email: "Send Sales Email",
    ActivityKind.open_email: "Open Sales Email",
    ActivityKind.click_email: "Click Sales Email",
    ActivityKind.reply_email: "Reply to Sales Email",
    ActivityKind.email_bounced: "Sales Email Bounced",
    ActivityKind.call: "Received Sales Call",
    ActivityKind.add_to_campaign: "Add to Sales Campaign",
    ActivityKind.remove_from_campaign: "Remove from Sales Campaign",
    ActivityKind.unsubscribe: "Unsubscribe from Sales Email",
}
