"""Delivery: the month's reports reach their readers (SPEC section 8).

``config`` reads ``reference/delivery.yaml`` and checks every address and region
name; ``messages`` builds one message per PAM (only that PAM's partners) and one
early warning per region; ``outbox`` writes them as ``.eml`` files; ``smtp`` and
``teams`` send them; ``record`` keeps the ``sent_messages`` table; ``deliver``
puts these together for one month, as the ``deliveries`` asset and ``oemkpi
deliver`` run it.
"""
