import datetime as dt

import pytest

from tickets.numbers import check_digit, day_of, format_number, is_valid


def test_known_wikimedia_number_is_valid():
    assert is_valid("2016060210016939")
    assert check_digit("201606021001693") == 9


def test_format_matches_znuny_layout():
    number = format_number(dt.date(2016, 6, 2), "10", 1693)
    assert number == "2016060210016939"
    assert day_of(number) == dt.date(2016, 6, 2)


def znuny_raw_checksum(body: str) -> int:
    """Znuny's DateChecksum loop as its Perl has it, written apart from ``tickets.numbers``.

    The multiplier runs 1, 2, 1, 2, … (``$Mult += 1``, back to 1 at 3); the
    products (a doubled 9 counts 18, not 9 as in Luhn) are summed; the result
    is 10 minus the sum modulo 10 (1 to 10).
    """
    checksum, mult = 0, 1
    for char in body:
        checksum += mult * "0123456789".index(char)
        mult += 1
        if mult == 3:
            mult = 1
    return 10 - checksum % 10


def znuny_date_checksum(body: str) -> int:
    """The check digit: Znuny writes 10 as 1."""
    checksum = znuny_raw_checksum(body)
    return 1 if checksum == 10 else checksum


def test_check_digit_by_hand():
    # 2·1 + 0·2 + 1·1 + 6·2 + 0·1 + 6·2 + 0·1 + 2·2 + 1·1 + 0·2 + 0·1 + 1·2
    # + 6·1 + 9·2 + 3·1 = 61; 10 - 1 = 9: Wikimedia's ticket 2016060210016939.
    assert znuny_date_checksum("201606021001693") == 9
    # 2 + 0 + 2 + 12 + 0 + 2 + 0 + 2 + 1 + 0 + 0 + 0 + 0 + 0 + 9 = 30: 10 - 0
    # is 10, written 1.
    assert znuny_date_checksum("202601011000009") == 1
    assert check_digit("202601011000009") == 1
    assert format_number(dt.date(2026, 1, 1), "10", 9) == "2026010110000091"
    assert is_valid("2026010110000091")
    assert check_digit("0") == 1


def test_check_digit_agrees_with_znuny_for_a_month_of_numbers():
    tens = 0
    for day in range(1, 32):
        for counter in range(1, 400):
            body = f"202601{day:02d}10{counter:05d}"
            assert check_digit(body) == znuny_date_checksum(body), body
            tens += znuny_raw_checksum(body) == 10
    assert tens > 0, "no body whose sum is a multiple of ten was tried"


def test_counter_grows_past_five_digits():
    number = format_number(dt.date(2026, 1, 1), "10", 123456)
    assert number.startswith("2026010110123456")
    assert len(number) == 17
    assert is_valid(number)


@pytest.mark.parametrize(
    "typo",
    [
        "2016060210016938",  # last digit wrong
        "2016060210061939",  # two neighbours swapped
        "201606021001693",  # digit missing
        "2016063210016939",  # no such day
        "abc6060210016939",
        "1016060210016939",  # before 1980
    ],
)
def test_typos_are_recognised(typo):
    assert not is_valid(typo)


def test_swapped_neighbours_detected_but_for_the_ten_to_one_quirk():
    number = format_number(dt.date(2024, 3, 15), "10", 48213)
    body = number[:-1]
    for i in range(len(body) - 1):
        if body[i] == body[i + 1]:
            continue
        swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
        # Check digits 10 and 9-from-1 both come out as 1 (Znuny's rule), the
        # only way a swap of different neighbours can go unnoticed.
        if {check_digit(body), check_digit(swapped)} == {1}:
            continue
        assert not is_valid(swapped + number[-1])


def test_bad_system_id_refused():
    with pytest.raises(ValueError):
        format_number(dt.date(2026, 1, 1), "1", 1)
