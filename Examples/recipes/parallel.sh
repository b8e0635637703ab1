#!/bin/sh
# x.npy through model.h5 on the hosts in $HOSTS (GNU parallel over ssh; gru-run installed on each),
# ${SAMPLES:-1000} samples a shard; the joined y.npy equals one run of the whole input.
set -e
gru-run split --input x.npy --samples "${SAMPLES:-1000}" --prefix shard- > shards.txt
parallel -S "$HOSTS" --basefile model.h5 --transferfile {} --return {.}.out.npy --cleanup \
  'gru-run --weights model.h5 --input {} --output {.}.out.npy' :::: shards.txt
gru-run join --output y.npy $(sed 's/\.npy$/.out.npy/' shards.txt)
