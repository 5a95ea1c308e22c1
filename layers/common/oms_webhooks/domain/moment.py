"""A moment in an answer: kept as an aware datetime, shown as Django REST framework writes it (`clock.iso`).

Apart from clock.py so that what reads the time without pydantic (the authorizer) does not import it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, PlainSerializer

from oms_webhooks.clock import iso

# The text of a moment, which the OpenAPI document calls a date-time.
MomentText = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2024-05-01T12:00:00.000000Z"])]
# A moment kept as a datetime and shown (in JSON) as its text.
Moment = Annotated[datetime, PlainSerializer(iso, return_type=MomentText, when_used="json")]
