"""Errors a user of the models can act on."""

from __future__ import annotations

from salesops.errors import SalesopsError


class NotEnoughData(SalesopsError):
    """Too few labelled rows, or only one outcome, to train and evaluate a model."""


class NoChampion(SalesopsError):
    """Scoring was asked for before any model version was promoted to champion."""


class TrackingUnavailable(SalesopsError):
    """The MLflow tracking store cannot be reached, and no champion was served before."""
