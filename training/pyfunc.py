"""The model bundle as an MLflow pyfunc model, so MLflow tools score like stallwatch.

``mlflow.pyfunc.load_model`` and ``mlflow models serve`` call
:class:`StallPyfunc`, which loads the hash-checked bundle and returns the same
calibrated probability and risk band as the service's scorer. Categorical
columns travel as plain strings; the bundle maps them onto its training
categories, so a value it never saw counts as missing instead of an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import ColSpec, Schema, TensorSpec

from training.bundle import ModelBundle, load_bundle
from training.text import text_columns

#: The key of the bundle folder among the pyfunc model's artifacts.
BUNDLE_ARTIFACT = "bundle"
#: Output columns of :meth:`StallPyfunc.predict`.
OUTPUT_COLUMNS = ("stall_probability", "risk_band")


def input_columns(bundle: ModelBundle) -> tuple[list[str], list[str]]:
    """Return the categorical and numeric columns a caller sends.

    Parameters
    ----------
    bundle : ModelBundle
        The trained bundle.

    Returns
    -------
    tuple of list of str
        Categorical columns (strings; ``topic`` included, the topic text
        columns are derived from it) and numeric columns (floats), in the
        bundle's order.
    """
    derived = set(text_columns(bundle.text))
    return list(bundle.categorical), [n for n in bundle.numeric if n not in derived]


def signature(bundle: ModelBundle) -> ModelSignature:
    """Return the pyfunc signature: optional string and double columns in, two out.

    Every input column is optional: a missing column or value is missing to
    LightGBM, as in the service.
    """
    categorical, numeric = input_columns(bundle)
    columns: list[ColSpec | TensorSpec] = [
        ColSpec("string", name, required=False) for name in categorical
    ]
    columns += [ColSpec("double", name, required=False) for name in numeric]
    inputs = Schema(columns)
    outputs = Schema(
        [ColSpec("double", OUTPUT_COLUMNS[0]), ColSpec("string", OUTPUT_COLUMNS[1])]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def input_example(bundle: ModelBundle) -> pd.DataFrame:
    """Return two feature rows built from the bundle's own categories.

    The first row takes each column's first training level and zeros, the
    second its last level and ones, so the example needs no data from the
    store.
    """
    categorical, numeric = input_columns(bundle)
    rows: list[dict[str, Any]] = []
    for position, number in ((0, 0.0), (-1, 1.0)):
        row: dict[str, Any] = {
            name: (levels[position] if levels else None)
            for name, levels in bundle.categorical.items()
        }
        row |= dict.fromkeys(numeric, number)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*categorical, *numeric])
    for name in categorical:
        frame[name] = frame[name].astype(object)
    return frame


class StallPyfunc(PythonModel):
    """Score feature rows with a stallwatch bundle: probability and risk band."""

    def load_context(self, context: Any) -> None:
        """Load the bundle folder shipped as an artifact, checking its hash."""
        folder = Path(context.artifacts[BUNDLE_ARTIFACT])
        self.bundle = load_bundle(folder.parent, folder.name)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: Any = None
    ) -> pd.DataFrame:
        """Return ``stall_probability`` and ``risk_band`` for each feature row.

        Parameters
        ----------
        context : PythonModelContext
            MLflow's context (unused after loading).
        model_input : DataFrame
            One row per ticket moment with the signature's columns; a missing
            column counts as missing values.
        params : dict, optional
            Unused.

        Returns
        -------
        DataFrame
            ``stall_probability`` (float) and ``risk_band`` (``high``,
            ``medium`` or ``low``), one row per input row.
        """
        rows = pd.DataFrame(model_input).reset_index(drop=True)
        categorical, numeric = input_columns(self.bundle)
        for name in categorical:
            if name not in rows:
                rows[name] = None
            rows[name] = rows[name].astype(object).where(rows[name].notna(), None)
        for name in numeric:
            if name not in rows:
                rows[name] = float("nan")
            rows[name] = pd.to_numeric(rows[name], errors="coerce").astype("float64")
        probability = self.bundle.calibrate(self.bundle.raw_score(rows))
        return pd.DataFrame(
            {
                OUTPUT_COLUMNS[0]: probability,
                OUTPUT_COLUMNS[1]: self.bundle.band(probability),
            }
        )
