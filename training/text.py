"""Topic features from free text: TF-IDF and a truncated SVD, fitted in training.

Where a source carries text (a subject, a title, a symptom), the ticket's
``topic`` becomes a few dense numeric columns, learned from the training
tickets only; the fitted pipeline travels in the model bundle so the service
transforms new tickets the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline

#: How many dense topic columns the text becomes.
N_COMPONENTS = 12
#: Fewer distinct texts than this and no text model is fitted.
MIN_DISTINCT_TEXTS = 50


def text_columns(pipeline: Pipeline | None) -> list[str]:
    """Names of the columns :func:`add_text_features` adds."""
    if pipeline is None:
        return []
    width = pipeline[-1].n_components
    return [f"topic_text_{i}" for i in range(width)]


def _texts(rows: pd.DataFrame) -> np.ndarray:
    return rows["topic"].astype("object").where(rows["topic"].notna(), "").to_numpy()


def fit_topic_text(rows: pd.DataFrame) -> Pipeline | None:
    """Fit TF-IDF (words and word pairs) and SVD on each ticket's latest topic.

    Parameters
    ----------
    rows : DataFrame
        Training rows with ``ticket_id`` and ``topic``.

    Returns
    -------
    Pipeline or None
        None when the training tickets carry too little distinct text.
    """
    texts = rows.drop_duplicates("ticket_id", keep="last")
    texts = texts.loc[texts["topic"].notna(), "topic"].astype(str)
    if texts.nunique() < MIN_DISTINCT_TEXTS:
        return None
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=3, max_features=20_000, sublinear_tf=True
    )
    n_terms = len(vectorizer.fit(texts).vocabulary_)
    if n_terms <= N_COMPONENTS:
        return None
    pipeline = make_pipeline(
        vectorizer, TruncatedSVD(n_components=N_COMPONENTS, random_state=7)
    )
    pipeline.fit(texts.to_numpy())
    return pipeline


def add_text_features(rows: pd.DataFrame, pipeline: Pipeline | None) -> pd.DataFrame:
    """Return ``rows`` with the dense topic columns (none without a pipeline)."""
    if pipeline is None:
        return rows
    # Each distinct text once: a backlog repeats few topics many times.
    unique, position = np.unique(_texts(rows).astype(str), return_inverse=True)
    dense = pipeline.transform(unique)[position.reshape(-1)]
    out = rows.copy()
    for i, name in enumerate(text_columns(pipeline)):
        out[name] = dense[:, i]
    return out
