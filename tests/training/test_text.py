"""Topic text features: fitted on training tickets, applied the same way later."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.text import N_COMPONENTS, add_text_features, fit_topic_text


def _rows(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"ticket_id": [f"T{i}" for i in range(len(texts))], "topic": texts}
    )


def test_fit_topic_text_needs_enough_distinct_text() -> None:
    assert fit_topic_text(_rows(["printer jam"] * 200)) is None


def test_text_features_separate_topics_and_ignore_later_rows(
    rng: np.random.Generator,
) -> None:
    words = {
        "printer": ["printer jam tray", "printer toner empty", "printer offline"],
        "vpn": ["vpn login fails", "vpn token expired", "vpn slow tunnel"],
    }
    texts = [
        f"{rng.choice(words[kind])} case {i}"
        for i, kind in enumerate(rng.choice(list(words), size=300))
    ]
    train = _rows(texts)
    pipeline = fit_topic_text(train)
    assert pipeline is not None

    fresh = _rows(["printer jam tray again", "vpn token expired again", ""])
    fresh.loc[2, "topic"] = None
    out = add_text_features(fresh, pipeline)
    columns = [f"topic_text_{i}" for i in range(N_COMPONENTS)]
    vectors = out[columns].to_numpy()

    # A missing topic maps to the zero vector; the two topics point apart.
    assert np.allclose(vectors[2], 0.0)
    cosine = (
        vectors[0]
        @ vectors[1]
        / np.linalg.norm(vectors[0])
        / np.linalg.norm(vectors[1])
    )
    assert cosine < 0.5
    same = add_text_features(pd.concat([fresh, train.head(5)]), pipeline)
    assert np.allclose(same[columns].to_numpy()[:3], vectors)


def test_text_features_of_repeated_topics_equal_the_row_by_row_transform(
    rng: np.random.Generator,
) -> None:
    words = ["printer jam tray", "vpn login fails", "mail quota full", "disk slow"]
    texts = [f"{rng.choice(words)} case {i % 40}" for i in range(400)]
    pipeline = fit_topic_text(_rows(texts))
    assert pipeline is not None
    fresh = _rows([texts[i] for i in rng.integers(0, len(texts), size=120)])
    fresh.loc[[3, 50], "topic"] = None

    out = add_text_features(fresh, pipeline)

    columns = [f"topic_text_{i}" for i in range(N_COMPONENTS)]
    one_by_one = np.vstack(
        [pipeline.transform([t if isinstance(t, str) else ""]) for t in fresh["topic"]]
    )
    np.testing.assert_allclose(out[columns].to_numpy(), one_by_one, rtol=0, atol=1e-12)
    assert fresh["topic"].nunique() < len(fresh)  # the topics do repeat
