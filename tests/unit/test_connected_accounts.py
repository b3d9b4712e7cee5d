"""A Stripe connected account's status, and the order of what Stripe said of
it (domain.connected_accounts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.connected_accounts import NotAnAccount, as_of, newer, state_of

pytestmark = pytest.mark.unit

FRESH = {"charges_enabled": False, "details_submitted": False,
         "requirements": {"past_due": ["external_account"], "disabled_reason": "requirements.past_due"}}  # fmt: skip
DONE = {"charges_enabled": True, "details_submitted": True, "requirements": {"past_due": [], "disabled_reason": None}}


@pytest.mark.parametrize(
    ("account", "status"),
    [
        (FRESH, "pending"),  # as Stripe makes it: onboarding not finished
        ({**FRESH, "details_submitted": True}, "restricted"),  # submitted, Stripe still checking
        (DONE, "active"),
        ({**DONE, "requirements": {"past_due": ["individual.verification.document"]}}, "restricted"),
        ({**DONE, "requirements": {"disabled_reason": "rejected.fraud"}}, "restricted"),
        ({**DONE, "charges_enabled": False}, "restricted"),
        ({"id": "acct_1"}, "pending"),  # nothing said: nothing enabled
    ],
)
def test_the_status_says_whether_clients_can_pay_and_what_stripe_wants(account, status):
    assert state_of(account).status == status


@pytest.mark.parametrize(
    ("account", "field"),
    [
        ({"charges_enabled": "true"}, "charges_enabled"),
        ({"details_submitted": 1}, "details_submitted"),
        ({"requirements": ["past_due"]}, "requirements"),
        ({"requirements": {"past_due": "external_account"}}, "requirements.past_due"),
        ({"requirements": {"disabled_reason": 3}}, "requirements.disabled_reason"),
    ],
)
def test_an_object_that_is_not_stripes_account_names_the_field(account, field):
    with pytest.raises(NotAnAccount) as refused:
        state_of(account)

    assert refused.value.field == field


STATES = [state_of(FRESH), state_of({**FRESH, "details_submitted": True}), state_of(DONE),
          state_of({**DONE, "charges_enabled": False})]  # fmt: skip


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(range(len(STATES))), st.sampled_from(["evt_a", "evt_b", ""])),
        min_size=1,
        max_size=12,
    ),
    st.randoms(),
)
def test_whatever_the_order_and_the_repeats_the_latest_state_is_kept(said, rng):
    """Events delivered late, twice and out of order end on the same state."""

    def kept(order):
        current = None
        for created, index, source in order:
            candidate = as_of(created, STATES[index], source)
            if newer(candidate, current):
                current = candidate
        return current

    shuffled = list(said)
    rng.shuffle(shuffled)

    assert kept(shuffled) == kept(said) == max(as_of(c, STATES[i], s) for c, i, s in said)


def test_in_one_second_the_state_further_in_onboarding_is_the_later():
    submitted, enabled = state_of({**FRESH, "details_submitted": True}), state_of(DONE)

    assert newer(as_of(100, enabled, "evt_a"), as_of(100, submitted, "evt_z"))
    assert newer(as_of(101, submitted, "evt_a"), as_of(100, enabled, "evt_z"))  # a second later wins


def test_details_stripe_is_still_verifying_leave_the_business_waiting_not_restricted():
    waiting = {**FRESH, "details_submitted": True,
               "requirements": {"past_due": [], "disabled_reason": "requirements.pending_verification"}}  # fmt: skip

    assert state_of(waiting).status == "pending"
