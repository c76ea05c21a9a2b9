"""The demo warns when the served model learned from events after its replay moment."""

from __future__ import annotations

import pandas as pd

from features.store import make_engine, read_events
from stallwatch.promoting import replay_warning
from stallwatch.settings import Settings
from training.bundle import load_bundle


def test_replay_before_the_models_last_event_is_called_dishonest(
    trained: Settings,
) -> None:
    engine = make_engine(trained.database_url)
    last = pd.Timestamp(read_events(engine)["occurred_at"].max())
    engine.dispose()
    bundle = load_bundle(trained.model_dir)
    # The fixture trains on everything stored, so it learned up to the last event.
    assert bundle.card["params"]["data_until"] == last.isoformat()

    before = (last - pd.Timedelta(days=1)).isoformat()
    warning = replay_warning(trained, before)
    assert warning is not None
    assert bundle.version in warning and last.isoformat() in warning

    assert replay_warning(trained, last.isoformat()) is None
    # A moment without an offset is UTC, as everywhere else.
    later = (last + pd.Timedelta(hours=1)).tz_convert(None).isoformat()
    assert replay_warning(trained, later) is None
