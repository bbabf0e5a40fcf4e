#!/usr/bin/env bash
# Distributed training with torchrun and MMEngine's distributed runner.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without CUDA the processes use the gloo backend on the CPU.
set -euo pipefail
USAGE='tools/dist_train.sh CONFIG GPUS [train.py options]'
source "$(dirname "$0")/dist_launch.sh"
check_arguments 2 "$@"
launch train.py "$2" "$1" --launcher pytorch "${@:3}"
