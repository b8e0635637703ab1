"""Writes Tests/Corpus/models/: real Keras models holding a layer gru-run does not run, for the refusal tests.

    TF_USE_LEGACY_KERAS=1 python3 Tests/Corpus/make_model_cases.py   (tf-keras 2.21, Fixtures/requirements.txt)

- gru_lambda.h5: Input(5, 4) -> GRU(3, return_sequences=True, name="gru") -> Lambda(x * 2, name="double"), model.save.
- nested.h5: Input(5, 4) -> a functional model "encoder" (GRU(3)) -> a Sequential "head" (Dense(2)), model.save.
"""
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tf_keras as keras  # noqa: E402

OUT = Path(__file__).resolve().parent / "models"

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(7)
    inputs = keras.Input((5, 4))
    hidden = keras.layers.GRU(3, return_sequences=True, name="gru")(inputs)
    outputs = keras.layers.Lambda(lambda t: t * 2, name="double")(hidden)
    keras.Model(inputs, outputs).save(OUT / "gru_lambda.h5")

    # nested.h5: a functional model holding a functional model and a Sequential, as layers. tf-keras numbers
    # their calls from 1 in the config.
    keras.backend.clear_session()
    inner_in = keras.Input((5, 4), name="inner_in")
    inner = keras.Model(inner_in, keras.layers.GRU(3, return_sequences=True, name="gru")(inner_in), name="encoder")
    head = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(2, name="dense")], name="head")
    outer_in = keras.Input((5, 4), name="x")
    keras.Model(outer_in, head(inner(outer_in))).save(OUT / "nested.h5")
