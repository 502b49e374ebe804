# Sourced by tools/slurm_train.sh and tools/slurm_test.sh (PARTITION set): the srun
# resources of a step from the variables both scripts document. Sets GPUS,
# GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, TASKS, RESOURCES (partition, --gres,
# --ntasks-per-node) and exports MASTER_PORT.
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
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
