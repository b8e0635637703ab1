#!/bin/sh
# One Slurm array task per shard made by `gru-run split --input x.npy --samples N --prefix shard-`:
#   sbatch --array=1-$(ls shard-*.npy | wc -l) slurm-job.sh     then     gru-run join --output y.npy out-*.npy
#SBATCH --job-name=gru-run
set -e
id=$(printf %05d "$SLURM_ARRAY_TASK_ID")
gru-run --weights model.h5 --input "shard-$id.npy" --output "out-$id.npy"
