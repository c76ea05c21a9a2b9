"""The file MLflow runs to build the pyfunc model ("models from code").

Registration logs this file instead of a pickled Python object; loading the
model runs it, and :class:`training.pyfunc.StallPyfunc` then loads the bundle.
"""

from mlflow.models import set_model

from training.pyfunc import StallPyfunc

set_model(StallPyfunc())
