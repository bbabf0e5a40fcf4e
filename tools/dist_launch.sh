# The launcher of tools/dist_train.sh and tools/dist_test.sh, which source it.

# check_arguments COUNT ARGS...: with --help or -h, print the caller's $USAGE
# and exit 0; with fewer than COUNT arguments, print it to stderr and exit 2.
check_arguments() {
    local count=$1
    shift
    case "${1:-}" in
        -h|--help) echo "usage: $USAGE"; exit 0 ;;
    esac
    if [ $# -lt "$count" ]; then
        echo "usage: $USAGE" >&2
        exit 2
    fi
}

# launch SCRIPT GPUS ARGS...: tools/SCRIPT ARGS... in GPUS processes on each
# node (torchrun), with this checkout first on PYTHONPATH.
launch() {
    local script=$1 gpus=$2 root
    shift 2
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" \
    exec "${PYTHON:-python}" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$gpus" \
        --master_port="${PORT:-29500}" \
        "$root/tools/$script" "$@"
}
