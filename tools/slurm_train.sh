#!/usr/bin/env bash
# Slurm training: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py flags]
# GPU nodes: GPUS (tasks in all, default 4) and GPUS_PER_NODE (default 4; one task
# per GPU, --gres=gpu:GPUS_PER_NODE). CPU nodes: GPUS_PER_NODE=0 (no --gres, gloo),
# TASKS tasks in all (default 1), TASKS_PER_NODE when set. TASKS / TASKS_PER_NODE
# also override the task counts on GPU nodes. CPUS_PER_TASK (default 5), SRUN_ARGS,
# PYTHON (default python) and MASTER_PORT (default 29500) tune the step; an empty
# PARTITION leaves it to Slurm.
#
# Preemptible runs (docs/en/advanced_guides/slurm.md): REQUEUE=1 passes --resume
# --requeue to train.py and sends the training tasks SIGUSR1 REQUEUE_SIGNAL_TIME
# seconds (default 90) before the job's time limit: inside a batch job this script
# reads the time left (squeue %L) and runs `scancel --signal=USR1 $SLURM_JOB_ID`
# then (srun's own --signal=USR1@T, used outside a batch job, was not delivered
# to a step of a batch job by Slurm 22.05). On SIGUSR1 (or SIGTERM, sent on
# preemption, `scontrol requeue` and scancel) training saves a checkpoint at the
# current iteration and stops; after SIGUSR1, or a SIGTERM that left the job
# running (`scancel --signal=TERM`), rank 0 requeues the batch job (scontrol
# requeue), which then continues from the work dir's latest checkpoint. Run it
# inside a batch job submitted with --requeue, e.g.
#   sbatch -p P --ntasks=8 --gres=gpu:4 --nodes=2 --time=24:00:00 --requeue \
#       --wrap "REQUEUE=1 GPUS=8 bash tools/slurm_train.sh P wrn CONFIG WORK_DIR"
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
PY_ARGS=${@:5}
source "$(dirname "$0")/slurm_resources.sh" || exit 1
SIGNAL_TIME=${REQUEUE_SIGNAL_TIME:-90}
SIGNAL_AT=""
if [ "${REQUEUE:-0}" = 1 ]; then
    PY_ARGS="--resume --requeue ${PY_ARGS}"
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        SRUN_ARGS="--signal=USR1@${SIGNAL_TIME} ${SRUN_ARGS}"
    else
        # time left: [days-][hours:]minutes:seconds, or UNLIMITED / NOT_SET
        LEFT=$(squeue -h -j "${SLURM_JOB_ID}" -o %L)
        if [[ "${LEFT}" =~ ^(([0-9]+)-)?([0-9:]+)$ ]]; then
            SECONDS_LEFT=0
            IFS=: read -ra PARTS <<< "${BASH_REMATCH[3]}"
            for PART in "${PARTS[@]}"; do SECONDS_LEFT=$((SECONDS_LEFT * 60 + 10#${PART})); done
            SECONDS_LEFT=$((SECONDS_LEFT + 86400 * 10#${BASH_REMATCH[2]:-0}))
            SIGNAL_AT=$(($(date +%s) + SECONDS_LEFT - SIGNAL_TIME))
        fi
    fi
fi

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun ${RESOURCES} --job-name="${JOB_NAME}" --ntasks="${TASKS}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "${PYTHON:-python}" -u "$(dirname "$0")/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" \
    --launcher="slurm" ${PY_ARGS} &
SRUN=$!
if [ -n "${SIGNAL_AT}" ]; then
    set +x
    while kill -0 "${SRUN}" 2>/dev/null; do
        if [ "$(date +%s)" -ge "${SIGNAL_AT}" ]; then
            echo "slurm_train.sh: ${SIGNAL_TIME} s before the time limit: SIGUSR1 to the tasks"
            scancel --signal=USR1 "${SLURM_JOB_ID}"  # every step, not this batch shell
            break
        fi
        sleep 2
    done
    set -x
fi
wait "${SRUN}"
