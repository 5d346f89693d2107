"""Identity rules, pure: passwords, SMS codes, login throttling, who creates which account."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import rules
from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import AppError, Forbidden, ValidationFailed
from nrmm_kernel.reference import Department, Role

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("password", ["short1", "allletters", "1234567890", "x" * 129 + "1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationFailed) as refused:
        rules.check_password(password)
    assert refused.value.code == "weak_password" and refused.value.field == "password"


def test_a_password_with_letters_and_digits_is_accepted():
    rules.check_password("Passw0rd-ok")
    rules.check_password("abcdefg1")  # exactly 8


def test_the_password_policy_names_the_field_it_checked():
    with pytest.raises(ValidationFailed) as refused:
        rules.check_password("short", field="new_password")
    assert refused.value.field == "new_password" and refused.value.status == 422


@pytest.mark.parametrize("username", ["ab", "has space", "13800138000", "-lead", "x" * 41])
def test_chosen_usernames_are_checked_and_mobile_numbers_are_left_to_owners(username):
    with pytest.raises(ValidationFailed) as refused:
        rules.check_username(username)
    assert refused.value.code == "invalid_username" and refused.value.field == "username"


def test_usernames_that_look_like_numbers_but_not_mobiles_are_fine():
    assert rules.check_username("12000000000") == "12000000000"
    assert rules.check_username("insp.yuzhong-01") == "insp.yuzhong-01"


def stored(code="123456", *, expires_in=300, code_id="01J0000000000000000000000"):
    return {"_id": code_id, "code_hash": rules.hash_code(code, code_id),
            "expires_at": NOW + timedelta(seconds=expires_in)}


def test_an_sms_code_is_right_within_its_time():
    assert rules.check_sms_code(stored(), "123456", NOW, tries=1, max_attempts=5).ok
    # the clock is injected: one second before expiry it works, at expiry it does not
    assert rules.check_sms_code(stored(expires_in=300), "123456", NOW + timedelta(seconds=299), tries=1,
                                max_attempts=5).ok
    expired = rules.check_sms_code(stored(expires_in=300), "123456", NOW + timedelta(seconds=300), tries=1,
                                   max_attempts=5)
    assert not expired.ok and expired.error == "sms_code_expired"


def test_a_used_sms_code_is_gone():
    used = rules.check_sms_code(None, "123456", NOW, tries=0, max_attempts=5)  # consumed codes are deleted
    assert not used.ok and used.error == "sms_code_invalid"


def test_wrong_tries_use_up_an_sms_code():
    wrong = rules.check_sms_code(stored(), "654321", NOW, tries=1, max_attempts=5)
    assert not wrong.ok and wrong.error == "sms_code_invalid"
    assert rules.check_sms_code(stored(), "123456", NOW, tries=5, max_attempts=5).ok  # the fifth try may be right
    spent = rules.check_sms_code(stored(), "123456", NOW, tries=6, max_attempts=5)
    assert not spent.ok and spent.error == "sms_code_invalid"  # too many tries: even the right code fails


def test_an_expired_code_says_so_even_after_many_tries():
    late = rules.check_sms_code(stored(expires_in=-1), "123456", NOW, tries=9, max_attempts=5)
    assert late.error == "sms_code_expired"


def test_sms_codes_are_six_random_digits():
    codes = {rules.new_sms_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    assert rules.code_matches("042042", "salt", rules.hash_code("042042", "salt"))
    assert not rules.code_matches("042042", "other-salt", rules.hash_code("042042", "salt"))


def test_sms_codes_are_rate_limited_per_number():
    rules.check_sms_rate([], NOW, resend_seconds=60, daily_limit=10)
    with pytest.raises(AppError) as too_soon:
        rules.check_sms_rate([NOW - timedelta(seconds=30)], NOW, resend_seconds=60, daily_limit=10)
    assert too_soon.value.status == 429 and too_soon.value.code == "sms_rate_limited"
    assert 0 < too_soon.value.details["retry_after"] <= 31
    rules.check_sms_rate([NOW - timedelta(seconds=61)], NOW, resend_seconds=60, daily_limit=10)
    day = [NOW - timedelta(hours=h) for h in range(1, 11)]
    with pytest.raises(AppError):
        rules.check_sms_rate(day, NOW, resend_seconds=60, daily_limit=10)
    rules.check_sms_rate(day[:9] + [NOW - timedelta(hours=25)], NOW, resend_seconds=60, daily_limit=10)
    # no resend interval: a racing send stamped a moment "after" now does not hold this one back
    rules.check_sms_rate([NOW + timedelta(milliseconds=3)], NOW, resend_seconds=0, daily_limit=10)


def test_logins_are_throttled_over_a_sliding_window():
    failures = [NOW - timedelta(minutes=m) for m in (14, 10, 5, 2)]
    assert rules.login_retry_after(failures, NOW, max_failures=5, window_seconds=900) is None
    locked = rules.login_retry_after([*failures, NOW], NOW, max_failures=5, window_seconds=900)
    assert locked is not None and 55 <= locked <= 61  # until the failure of 14 minutes ago leaves the window
    old = [NOW - timedelta(minutes=m) for m in (20, 19, 18, 17, 16)]
    assert rules.login_retry_after(old, NOW, max_failures=5, window_seconds=900) is None


def test_who_may_create_staff_accounts():
    city = Principal(account_id="a", role=Role.ADMIN, department=Department.ECOLOGY)
    district = Principal(account_id="b", role=Role.ADMIN, department=Department.ECOLOGY, district="04")
    rules.may_create_staff(city, Role.INSPECTOR, Department.HOUSING, "11")
    rules.may_create_staff(district, Role.REVIEWER, Department.ECOLOGY, "04")
    with pytest.raises(Forbidden):
        rules.may_create_staff(district, Role.REVIEWER, Department.ECOLOGY, "05")
    with pytest.raises(Forbidden):
        rules.may_create_staff(district, Role.AUDITOR, None, None)  # city level is above a district admin
    with pytest.raises(Forbidden):
        rules.may_create_staff(Principal(account_id="c", role=Role.REVIEWER, district="04"), Role.INSPECTOR,
                               Department.ECOLOGY, "04")
    for role in (Role.OWNER, Role.SITE_ADMIN, Role.SERVICE):
        with pytest.raises(ValidationFailed):
            rules.may_create_staff(city, role, Department.ECOLOGY, "04")
    with pytest.raises(ValidationFailed) as no_department:
        rules.may_create_staff(city, Role.INSPECTOR, None, "04")
    assert no_department.value.code == "department_required"


def test_another_departments_administrator_staffs_only_their_own_department():
    housing = Principal(account_id="h", role=Role.ADMIN, department=Department.HOUSING, district="04")
    rules.may_create_staff(housing, Role.INSPECTOR, Department.HOUSING, "04")
    rules.may_create_staff(housing, Role.ADMIN, Department.HOUSING, "04")
    for role, department in ((Role.INSPECTOR, Department.ECOLOGY), (Role.DEPARTMENT_VIEWER, Department.TRANSPORT),
                             (Role.REVIEWER, Department.ECOLOGY), (Role.AUDITOR, None)):
        with pytest.raises(Forbidden):
            rules.may_create_staff(housing, role, department, "04")
    with pytest.raises(ValidationFailed) as reviewer:
        rules.may_create_staff(Principal(account_id="a", role=Role.ADMIN, department=Department.ECOLOGY),
                               Role.REVIEWER, Department.HOUSING, "04")
    assert (reviewer.value.code, reviewer.value.field) == ("department_not_allowed", "department")


def test_a_supervision_engineer_is_bound_to_a_site_not_a_department():  # rule E6
    city = Principal(account_id="a", role=Role.ADMIN, department=Department.ECOLOGY)
    rules.may_create_staff(city, Role.SUPERVISION_ENGINEER, None, "04", site_id="S-1")
    for department, district, site_id, field in ((None, "04", None, "site_id"),
                                                 (Department.HOUSING, "04", "S-1", "department")):
        with pytest.raises(ValidationFailed) as refused:
            rules.may_create_staff(city, Role.SUPERVISION_ENGINEER, department, district, site_id=site_id)
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as not_bound:
        rules.may_create_staff(city, Role.INSPECTOR, Department.ECOLOGY, "04", site_id="S-1")
    assert not_bound.value.code == "site_not_allowed"


def test_the_throttle_waits_for_the_window_to_pass_not_for_a_success():
    # five failures in a burst: locked for the window; the sixth minute after does not help, the sixteenth does
    burst = [NOW - timedelta(seconds=s) for s in (5, 4, 3, 2, 1)]
    assert rules.login_retry_after(burst, NOW + timedelta(minutes=6), max_failures=5, window_seconds=900)
    assert rules.login_retry_after(burst, NOW + timedelta(minutes=15), max_failures=5, window_seconds=900) is None


def attempt(n, state, minutes_ago):
    return {"n": n, "state": state, "at": NOW - timedelta(minutes=minutes_ago)}


def test_failures_count_since_the_last_success_and_undecided_attempts_count_as_failures():
    earlier = [attempt(1, "failed", 10), attempt(2, "succeeded", 9), attempt(3, "failed", 8),
               attempt(4, "refused", 7), attempt(5, "pending", 0)]
    counted = rules.login_failures_that_count(earlier)
    assert counted == [NOW - timedelta(minutes=8), NOW]  # not before the success, not the refused one


def test_from_one_address_a_success_forgives_no_failure_at_other_accounts():
    earlier = [attempt(1, "failed", 10), attempt(2, "succeeded", 9), attempt(3, "failed", 8),
               attempt(4, "refused", 7), attempt(5, "pending", 0)]
    assert rules.address_failures_that_count(earlier) == [NOW - timedelta(minutes=m) for m in (10, 8, 0)]


def test_refused_and_undelivered_sms_sends_do_not_count():
    earlier = [attempt(1, "sent", 30), attempt(2, "refused", 20), attempt(3, "failed", 10), attempt(4, "pending", 0)]
    assert rules.sms_sends_that_count(earlier) == [NOW - timedelta(minutes=30), NOW]


def test_one_client_is_an_ipv4_address_or_an_ipv6_slash_64():
    assert rules.client_network("203.0.113.7") == "203.0.113.7"
    assert rules.client_network("2001:db8:1:2:aaaa::1") == rules.client_network("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert rules.client_network("::ffff:203.0.113.7") == "203.0.113.7"
    assert rules.client_network("not-an-address") == rules.client_network(None) == "unknown"


# issue 13, points 1 and 6 ------------------------------------------------------------------------------------------

def test_sms_sends_per_address_or_overall_are_limited_in_a_sliding_hour():
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    sent = [now - timedelta(minutes=m) for m in (1, 2, 59)]
    rules.check_sms_volume(sent, now, limit=4, scope="address")
    with pytest.raises(rules.TooManyRequests) as refused:
        rules.check_sms_volume(sent, now, limit=3, scope="address")
    assert refused.value.code == "sms_rate_limited" and refused.value.details["scope"] == "address"
    assert refused.value.details["retry_after"] == 61  # when the send of 59 minutes ago leaves the hour
    rules.check_sms_volume([now - timedelta(minutes=61)] * 5, now, limit=3, scope="overall")


@pytest.mark.parametrize("password", ["password1", "Password1", "qwerty123", "letmein1", "1qaz2wsx"])
def test_common_passwords_are_refused_for_everyone(password):
    with pytest.raises(ValidationFailed) as refused:
        rules.check_password(password)
    assert refused.value.code == "common_password" and refused.value.field == "password"


@pytest.mark.parametrize("password", ["Passw0rd-1", "Qw3rty!234", "Site-Passw0rd"])
def test_staff_passwords_must_be_longer_and_hard_to_guess(password):
    rules.check_password(password)  # good enough for an owner's own account
    with pytest.raises(ValidationFailed) as refused:
        rules.check_password(password, staff=True)
    assert refused.value.code == "weak_password"
    rules.check_password("tR7#kLm2-vQ9x", staff=True)


def test_a_staff_password_made_of_the_username_is_weak():
    rules.check_password("Reviewer-Yubei-2026", staff=True)
    with pytest.raises(ValidationFailed):
        rules.check_password("reviewer-yubei-2026", staff=True, user_inputs=("reviewer-yubei-2026",))
