"""What a user would write to run a saved Keras model: keras_predict.py [--keras3] MODEL INPUT.npy OUTPUT.npy

tf-keras loads the model (a .h5); with --keras3, Keras 3 does (a .keras archive)."""
import sys

import numpy as np

args = sys.argv[1:]
if args[0] == "--keras3":
    import keras
    args = args[1:]
else:
    import tf_keras as keras

model = keras.models.load_model(args[0])
x = np.load(args[1])
y = model.predict(x, verbose=0)
np.save(args[2], y)
