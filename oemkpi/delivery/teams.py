"""A region's early warning as a Microsoft Teams workflow post, through ``dagster-msteams``.

Power Automate workflow URLs take an AdaptiveCard; ``dagster_msteams`` builds the card
and posts it. The URL is a secret: it comes from the environment variable that
delivery.yaml names and appears in no sentence, log or file. Values from feeds (a
SKU name) are escaped for the card's Markdown, so they stay text.
"""

from __future__ import annotations

from collections.abc import Sequence

from oemkpi.delivery.smtp import NotSent
from oemkpi.reports.safe_markdown import md_escape


def card_payload(title: str, lines: Sequence[str]) -> dict[str, object]:
    """The AdaptiveCard: the title, then one text block per item."""
    from dagster_msteams.adaptive_card import AdaptiveCard

    card = AdaptiveCard()
    card.add_attachment(f"**{md_escape(title)}**")
    for line in lines:
        card.add_attachment(f"- {md_escape(line)}")
    return card.payload


def post_card(url: str, payload: dict[str, object], variable: str, timeout: float = 30) -> None:
    """Post ``payload`` to the workflow at ``url``; :class:`NotSent` says why it did not go,
    naming the variable (never the URL)."""
    from dagster_msteams.client import TeamsClient
    from requests import RequestException

    try:
        TeamsClient(hook_url=url, timeout=timeout).post_message(payload)
    except RequestException as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        why = f"HTTP {status}" if status else type(err).__name__
        raise NotSent(
            f"The Teams workflow in ${variable} did not take the post ({why}); "
            "it is posted again when the month is delivered again."
        ) from None
    except Exception as err:  # a malformed URL: dagster's check.failed and friends
        raise NotSent(
            f"The Teams workflow URL in ${variable} could not be used ({type(err).__name__}); "
            "set it to the workflow's HTTP POST URL."
        ) from None
