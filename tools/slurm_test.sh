#!/usr/bin/env bash
# Slurm testing: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py flags]
# The same variables as tools/slurm_train.sh: GPUS, GPUS_PER_NODE (0: CPU nodes),
# TASKS, TASKS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON, MASTER_PORT.
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
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

export MASTER_PORT=${MASTER_PORT:-29500}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun ${RESOURCES} --job-name="${JOB_NAME}" --ntasks="${TASKS}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "${PYTHON:-python}" -u "$(dirname "$0")/test.py" "${CONFIG}" "${CHECKPOINT}" \
    --launcher="slurm" ${PY_ARGS}
