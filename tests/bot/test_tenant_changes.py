"""The bot keeps a tenant's parsed policy only while the stored configuration is unchanged:
a change is used from the next turn on, without a restart."""

from __future__ import annotations

from core.types import HandoffReason
from server.container import Services
from server.demo import demo_tenant_config
from tests.bot.helpers import SUNDAY, TENANT, Chat


def test_a_changed_configuration_is_used_from_the_next_turn(demo_services: Services) -> None:
    before = Chat(demo_services.bot, "cus_007", now=SUNDAY)
    assert before.say("I want to talk to a person about a payment problem") is None
    assert before.brief.reason is HandoffReason.after_hours
    assert before.handoff is not None and "ticket" in before.handoff.customer_message

    config = demo_tenant_config()
    config["handoff"] = {**config.get("handoff", {}), "after_hours_action": "queue_only"}
    demo_services.store.ensure_tenant(TENANT, "Larkspur", config)

    after = Chat(demo_services.bot, "cus_007", now=SUNDAY)
    assert after.say("I want to talk to a person about a payment problem") is None
    assert after.handoff is not None
    assert "offline" in after.handoff.customer_message and "ticket" not in after.handoff.customer_message
