#!/usr/bin/env bash
# Slurm training: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py flags]
# GPUS (total, default 4), GPUS_PER_NODE (default 4), CPUS_PER_TASK (default 5)
# and SRUN_ARGS tune the allocation.
#
# Preemptible runs (README, "Resuming and preemption"): REQUEUE=1 asks Slurm for
# SIGUSR1 REQUEUE_SIGNAL_TIME seconds (default 90) before the time limit and
# passes --resume --requeue to train.py: on SIGUSR1 (or SIGTERM, sent on
# preemption and scancel) training saves a checkpoint at the current iteration
# and stops; after SIGUSR1 rank 0 requeues the batch job (scontrol requeue),
# which then continues from the work dir's latest checkpoint. Run it inside a
# batch job submitted with --requeue, e.g.
#   sbatch -p P --ntasks=8 --gres=gpu:4 --nodes=2 --time=24:00:00 --requeue \
#       --wrap "REQUEUE=1 GPUS=8 bash tools/slurm_train.sh P wrn CONFIG WORK_DIR"
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}
if [ "${REQUEUE:-0}" = 1 ]; then
    SRUN_ARGS="--signal=USR1@${REQUEUE_SIGNAL_TIME:-90} ${SRUN_ARGS}"
    PY_ARGS="--resume --requeue ${PY_ARGS}"
fi

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "${PARTITION}" --job-name="${JOB_NAME}" --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    python -u "$(dirname "$0")/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" \
    --launcher="slurm" ${PY_ARGS}
