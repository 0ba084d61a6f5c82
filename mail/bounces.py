"""M11: a bounce of a reply we mailed is recorded on its `OutboundEmail`."""

from __future__ import annotations

from conversations import clock
from mail.models import OutboundEmail


def on_mail_bounced(sender, message_ids, reason, **kwargs) -> int:
    """Receiver of `mail_bounced`: mark the emails it reports on as bounced."""
    if not message_ids:
        return 0
    return OutboundEmail.objects.filter(part__message_id__in=message_ids).update(
        bounced_at=clock.now(), bounce=reason or "Bounced."
    )
