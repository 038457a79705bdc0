"""A budgeted search for the schedule: short real runs of the user's schedule shape, losers stopped early."""

from .settings import TuneSettings

__all__ = ["TuneSettings"]
