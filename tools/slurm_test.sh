#!/usr/bin/env bash
# Slurm testing: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py flags]
# The same variables as tools/slurm_train.sh: GPUS, GPUS_PER_NODE (0: CPU nodes),
# TASKS, TASKS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON, MASTER_PORT.
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
PY_ARGS=${@:5}
source "$(dirname "$0")/slurm_resources.sh" || exit 1

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun ${RESOURCES} --job-name="${JOB_NAME}" --ntasks="${TASKS}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "${PYTHON:-python}" -u "$(dirname "$0")/test.py" "${CONFIG}" "${CHECKPOINT}" \
    --launcher="slurm" ${PY_ARGS}
