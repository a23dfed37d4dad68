"""Intake's timings, stored in the settings table with safe defaults."""

from dataclasses import dataclass

from models.settings import StoredSettings


@dataclass(frozen=True)
class IntakeSettings(StoredSettings):
    """How long shipping news waits for a tracking code, and how often it is retried."""

    PREFIX = "intake."

    news_wait_minutes: int = 180
    news_retry_minutes: int = 5
