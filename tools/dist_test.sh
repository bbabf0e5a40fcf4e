#!/usr/bin/env bash
# Distributed testing with torchrun and MMEngine's distributed runner.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without CUDA the processes use the gloo backend on the CPU.
set -euo pipefail
USAGE='tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]'
source "$(dirname "$0")/dist_launch.sh"
check_arguments 3 "$@"
launch test.py "$3" "$1" "$2" --launcher pytorch "${@:4}"
