"""Sending a message through the mail server of ``delivery.yaml`` with the standard library.

A server that is down, refuses the message or a recipient, or times out is one
sentence naming the server and what to do (:class:`NotSent`); the caller keeps the
message in the outbox. Credentials come from the environment variables that
delivery.yaml names and appear in no sentence, log or file.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from oemkpi.delivery.config import SmtpSettings
from oemkpi.errors import OemkpiError


class NotSent(OemkpiError):
    """The server did not take the message: why, in one sentence."""


def _server(settings: SmtpSettings) -> str:
    return f"the mail server {settings.host}:{settings.port}"


def send_raw(settings: SmtpSettings, raw: bytes, recipients: Sequence[str]) -> None:
    """Hand ``raw`` (a whole message) to the server for ``recipients``; :class:`NotSent`
    says why it did not go."""
    server = _server(settings)
    credentials = settings.credentials()
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if credentials is not None:
                smtp.login(*credentials)
            refused = smtp.sendmail(settings.sender.addr_spec, list(recipients), raw)
    except smtplib.SMTPRecipientsRefused as err:
        who = ", ".join(sorted(err.recipients))
        raise NotSent(f"{server} refused the recipient {who}; check the address.") from None
    except smtplib.SMTPAuthenticationError:
        raise NotSent(
            f"{server} did not accept the user name and password from the environment; "
            "check the variables delivery.yaml names."
        ) from None
    except smtplib.SMTPResponseException as err:
        text = (
            err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else ""
        )
        raise NotSent(
            f"{server} refused the message ({err.smtp_code} {text.strip()[:120]}); "
            "it stays in the outbox for the next run."
        ) from None
    except smtplib.SMTPServerDisconnected as err:
        if "timed out" not in str(err):
            raise NotSent(
                f"{server} closed the connection; it stays in the outbox for the next run."
            ) from None
        raise NotSent(
            f"{server} did not answer within {settings.timeout_seconds:g} s; "
            "it stays in the outbox for the next run."
        ) from None
    except ssl.SSLCertVerificationError as err:
        raise NotSent(
            f"{server} offered a TLS certificate that could not be verified "
            f"({err.verify_message or err.reason}); give this machine the server's CA "
            "certificate (SSL_CERT_FILE) or fix the server's certificate; the message stays "
            "in the outbox for the next run."
        ) from None
    except TimeoutError:
        raise NotSent(
            f"{server} did not answer within {settings.timeout_seconds:g} s; "
            "it stays in the outbox for the next run."
        ) from None
    except (ConnectionError, OSError, smtplib.SMTPException) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise NotSent(
            f"{server} could not be reached ({reason}); it stays in the outbox for the next run."
        ) from None
    if refused:
        who = ", ".join(sorted(refused))
        raise NotSent(f"{server} refused the recipient {who}; check the address.")
