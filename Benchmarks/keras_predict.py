"""What a user would write to run a saved Keras GRU model: keras_predict.py MODEL.h5 INPUT.npy OUTPUT.npy"""
import sys

import numpy as np
import tf_keras

model = tf_keras.models.load_model(sys.argv[1])
x = np.load(sys.argv[2])
y = model.predict(x, verbose=0)
np.save(sys.argv[3], y)
