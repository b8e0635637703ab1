#!/bin/sh
# x.npy through model.h5 on the hosts in $HOSTS (GNU parallel over ssh; gru-run installed on each),
# ${SAMPLES:-1000} samples a shard; the joined y.npy equals one run of the whole input.
set -e
: "${HOSTS:?names no hosts: set HOSTS to the ssh hosts to run on, comma-separated (HOSTS=node1,node2)}"
# An earlier run's shards and outputs go first: split refuses to mix old shards with new ones.
rm -f shard-[0-9]*.npy y-shard-[0-9]*.npy
gru-run split --input x.npy --samples "${SAMPLES:-1000}" --prefix shard- > shards.txt
parallel -S "$HOSTS" --basefile model.h5 --transferfile {} --return y-{.}.npy --cleanup \
  'gru-run --weights model.h5 --input {} --output y-{.}.npy' :::: shards.txt
gru-run join --output y.npy $(sed 's/^/y-/' shards.txt)
