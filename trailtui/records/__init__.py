"""Input shapes (Records files, LookupEvents output, JSON Lines, arrays) -> raw records -> Event."""
