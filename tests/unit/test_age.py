import datetime as dt

from tickets.age import age_text

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def test_minutes():
    assert age_text(NOW - dt.timedelta(minutes=38), NOW) == "38 minutes"
    assert age_text(NOW - dt.timedelta(seconds=70), NOW) == "1 minute"
    assert age_text(NOW, NOW) == "0 minutes"


def test_hours_and_days():
    assert age_text(NOW - dt.timedelta(hours=2, minutes=5), NOW) == "2 hours 5 minutes"
    assert age_text(NOW - dt.timedelta(days=3, hours=4, minutes=9), NOW) == "3 days 4 hours"
    assert age_text(NOW - dt.timedelta(days=1), NOW) == "1 day"


def test_naive_times_are_utc():
    assert age_text(NOW.replace(tzinfo=None) - dt.timedelta(minutes=3), NOW) == "3 minutes"
