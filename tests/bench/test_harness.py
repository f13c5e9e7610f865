"""The bench's figure formatting: a missed target must never print as met."""

import pytest

from bench.harness import times


@pytest.mark.parametrize(
    ("value", "threshold", "digits", "text"),
    [
        (9.9723, 10, 1, "9.97x"),  # "10.0x" would read as the target
        (9.96, 10, 1, "9.96x"),
        (10.04, 10, 1, "10.0x"),  # met: the short form is on the right side
        (11.46, 10, 1, "11.5x"),
        (0.0996, 0.1, 3, "0.0996x"),  # below a "< 0.1x" target, shown below it
        (0.4999, 0.5, 2, "0.4999x"),
        (0.5947, 0.5, 2, "0.59x"),
        (4.99996, 5, 1, "5.0000x"),  # at most four digits
    ],
)
def test_times_shows_the_side_of_the_threshold(value, threshold, digits, text):
    assert times(value, threshold=threshold, digits=digits) == text
