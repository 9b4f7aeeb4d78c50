"""GBM inputs: the parameter column.  No numba here: validation imports this module alone."""

PARAMETERS = ("vol",)
