"""The stall model and its baselines, fitted on as-of snapshot rows."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

log = logging.getLogger("stallwatch.training")

LGBM_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "max_cat_threshold": 32,
    "seed": 7,
    "num_threads": 2,
    "verbosity": -1,
}
MAX_ROUNDS = 1_000
EARLY_STOPPING = 50


def ticket_weights(rows: pd.DataFrame) -> np.ndarray:
    """Weight each row by one over its ticket's row count: a ticket counts once."""
    counts = rows.groupby("ticket_id")["ticket_id"].transform("size")
    return (1.0 / counts).to_numpy(dtype=float)


def category_levels(
    rows: pd.DataFrame, categorical: Sequence[str]
) -> dict[str, list[str]]:
    """Return the sorted levels of each categorical column seen in training."""
    return {
        name: sorted(rows[name].dropna().astype(str).unique().tolist())
        for name in categorical
    }


def as_matrix(
    rows: pd.DataFrame, levels: dict[str, list[str]], numeric: Sequence[str]
) -> pd.DataFrame:
    """Return the booster input: fixed categories, then float columns.

    A level not seen in training becomes missing, as LightGBM expects.
    """
    data: dict[str, object] = {}
    for name, known in levels.items():
        values = rows[name].astype("object")
        seen = values.isin(known).to_numpy()
        data[name] = pd.Categorical(values.where(seen, None), categories=known)
    for name in numeric:
        data[name] = rows[name].astype("float64").to_numpy()
    return pd.DataFrame(data, index=rows.index)


def _log_lightgbm(env: lgb.callback.CallbackEnv) -> None:
    if env.iteration % 100 == 0 and env.evaluation_result_list:
        _, metric, value, _ = env.evaluation_result_list[0][:4]
        log.debug("lightgbm_progress", extra={"round": env.iteration, metric: value})


def fit_lightgbm(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    *,
    levels: dict[str, list[str]],
    numeric: Sequence[str],
    rounds: int | None = None,
) -> lgb.Booster:
    """Fit the stall classifier, early-stopped on the validation rows.

    With ``rounds`` given, fit exactly that many rounds and use the validation
    rows only for reporting.
    """
    y_train = train["stalled"].to_numpy(dtype=float)
    y_val = validation["stalled"].to_numpy(dtype=float)
    train_set = lgb.Dataset(
        as_matrix(train, levels, numeric),
        y_train,
        weight=ticket_weights(train),
        categorical_feature=list(levels),
        free_raw_data=False,
    )
    valid_set = lgb.Dataset(
        as_matrix(validation, levels, numeric),
        y_val,
        weight=ticket_weights(validation),
        reference=train_set,
    )
    callbacks = [_log_lightgbm]
    if rounds is None:
        callbacks.append(lgb.early_stopping(EARLY_STOPPING, verbose=False))
    booster = lgb.train(
        {**LGBM_PARAMS, "metric": "average_precision"},
        train_set,
        num_boost_round=rounds or MAX_ROUNDS,
        valid_sets=[valid_set],
        callbacks=callbacks,
    )
    return booster


def fit_logistic(
    train: pd.DataFrame, *, categorical: Sequence[str], numeric: Sequence[str]
) -> Pipeline:
    """Fit the class-weighted logistic-regression baseline on the same rows."""
    encode = ColumnTransformer(
        [
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=30
                    ),
                ),
                list(categorical),
            ),
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(
                        strategy="median",
                        add_indicator=True,
                        keep_empty_features=True,
                    ),
                    StandardScaler(),
                ),
                list(numeric),
            ),
        ]
    )
    model = make_pipeline(
        encode,
        LogisticRegression(class_weight="balanced", max_iter=2_000, C=0.5),
    )
    frame = train[[*categorical, *numeric]].copy()
    for name in categorical:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), None)
    model.fit(
        frame,
        train["stalled"].to_numpy(dtype=bool),
        logisticregression__sample_weight=ticket_weights(train),
    )
    return model


def logistic_scores(
    model: Pipeline, rows: pd.DataFrame, *, categorical: Sequence[str]
) -> np.ndarray:
    """Return the logistic baseline's stall probabilities."""
    frame = rows.copy()
    for name in categorical:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), None)
    return np.asarray(model.predict_proba(frame)[:, 1], dtype=float)


def rule_scores(rows: pd.DataFrame) -> np.ndarray:
    """Rank a help desk already has: SLA share used, then priority, then age.

    The largest share of any SLA target used first (when the rows carry SLA
    clock features); then the most urgent priority; then the oldest ticket.
    """
    rank = rows["priority_rank"].fillna(5.0).to_numpy(dtype=float)
    age = rows["age_hours"].to_numpy(dtype=float)
    score = (5.0 - rank) * 1e6 + age
    used = [c for c in rows.columns if c.startswith("sla_") and c.endswith("_used")]
    if used:
        share = rows[used].max(axis=1).fillna(0.0).to_numpy(dtype=float)
        score = share * 1e7 + score
    return score
