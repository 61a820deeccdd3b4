"""Phone numbers as Swedes write them: the issue saw "+46701740605" where people read "070-174 06 05"."""

import pytest

from rosters.phones import spoken_phone


@pytest.mark.parametrize(("stored", "shown"), [
    ("+46701740605", "070-174 06 05"),  # a mobile number in E.164, as the rosters keep it
    ("0701740605", "070-174 06 05"),
    ("+46850800010", "08-508 000 10"),  # Stockholm: a two-digit area code
    ("08-600 00 00", "08-600 00 00"),
    ("+46311234567", "031-123 45 67"),  # Göteborg: three digits
    ("+4698012345", "0980-123 45"),  # Kiruna: four digits, five left
])
def test_a_swedish_number_is_grouped_as_swedes_write_it(stored, shown):
    assert spoken_phone(stored) == shown


@pytest.mark.parametrize("other", ["+4791234567", "112", "Socialjouren", "+46 70", ""])
def test_anything_else_is_shown_as_it_was(other):
    # A Norwegian number or a word is not re-grouped by Swedish rules: nobody must dial a number the bot made up.
    assert spoken_phone(other) == other
