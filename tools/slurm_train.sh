#!/usr/bin/env bash
# Slurm training: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py flags]
# GPU nodes: GPUS (tasks in all, default 4) and GPUS_PER_NODE (default 4; one task
# per GPU, --gres=gpu:GPUS_PER_NODE). CPU nodes: GPUS_PER_NODE=0 (no --gres, gloo),
# TASKS tasks in all (default 1), TASKS_PER_NODE when set. TASKS / TASKS_PER_NODE
# also override the task counts on GPU nodes. CPUS_PER_TASK (default 5), SRUN_ARGS,
# PYTHON (default python) and MASTER_PORT (default 29500) tune the step; an empty
# PARTITION leaves it to Slurm.
#
# Preemptible runs (README, "Resuming and preemption"): REQUEUE=1 asks Slurm for
# SIGUSR1 REQUEUE_SIGNAL_TIME seconds (default 90) before the time limit
# (srun --signal=USR1@T) and passes --resume --requeue to train.py: on SIGUSR1
# (or SIGTERM, sent on preemption, `scontrol requeue` and scancel) training saves
# a checkpoint at the current iteration and stops; after SIGUSR1, or a SIGTERM
# that left the job running (`scancel --signal=TERM`), rank 0 requeues the batch
# job (scontrol requeue), which then continues from the work dir's latest
# checkpoint. Run it inside a batch job submitted with --requeue, e.g.
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
if [ "${GPUS_PER_NODE}" = 0 ]; then  # CPU nodes
    TASKS=${TASKS:-1}
    RESOURCES=""
else
    TASKS=${TASKS:-$GPUS}
    TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS_PER_NODE}
    RESOURCES="--gres=gpu:${GPUS_PER_NODE}"
fi
if [ -n "${TASKS_PER_NODE:-}" ]; then
    RESOURCES="${RESOURCES} --ntasks-per-node=${TASKS_PER_NODE}"
fi
if [ -n "${PARTITION}" ]; then
    RESOURCES="-p ${PARTITION} ${RESOURCES}"
fi
if [ "${REQUEUE:-0}" = 1 ]; then
    SRUN_ARGS="--signal=USR1@${REQUEUE_SIGNAL_TIME:-90} ${SRUN_ARGS}"
    PY_ARGS="--resume --requeue ${PY_ARGS}"
fi

export MASTER_PORT=${MASTER_PORT:-29500}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun ${RESOURCES} --job-name="${JOB_NAME}" --ntasks="${TASKS}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "${PYTHON:-python}" -u "$(dirname "$0")/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" \
    --launcher="slurm" ${PY_ARGS}
