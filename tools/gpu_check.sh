#!/usr/bin/env bash
# The checks that need a GPU, in one run (a few minutes on one H200): build the
# op with its CUDA kernels through the normal install, the self-check, the
# CUDA-marked tests with the compiled op required, and the GPU benchmarks.
#   bash tools/gpu_check.sh [OUT_DIR] [PART]   (logs in OUT_DIR, default gpu_check/)
# PART: all (the default), core (build, self-check, CUDA tests, op and solver
# benchmarks) or speed (issue #19's figures: the per-frame forward against the
# official code in .official/ when it is there, eager and compiled, the
# training step with and without bfloat16, the demo's start-up and frames/s);
# speed builds only where the installed op has no CUDA kernels, so that two
# calls on one machine split the work.
# Python packages missing on the machine may come as wheels in .whl/ (installed
# into /tmp/site); the fixtures are read from ../shared, or from ./shared.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_check}}"
part="${2:-all}"
case "$part" in all|core|speed) ;; *) echo "PART must be all, core or speed, got $part"; exit 2;; esac
mkdir -p "$out"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
if compgen -G '.whl/*.whl' >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ ! -d ../shared ] && [ -d shared ]; then ln -s "$PWD/shared" ../shared; fi
failed=0
step() {  # step NAME TIMEOUT COMMAND...: run, log to OUT/NAME.log, time it
    local name=$1 limit=$2; shift 2
    echo "== $name: $*"
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$out/$name.log"
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || failed=1
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# the install path of the README: CUDA kernels because nvcc matches torch's CUDA
if [ "$part" != speed ] || ! python3 -c 'import torch, cpabmm._ext as e; assert e.has_cuda()' \
        2>/dev/null; then
    step build 300 python3 -m pip install --no-build-isolation --no-deps \
        --break-system-packages -e .
fi
if [ "$part" != speed ]; then
    step collect_env 60 python3 -m cpabmm.utils.collect_env --require-ops
    step cuda_tests 240 env CPABMM_REQUIRE_OPS=1 python3 -m pytest -q -rs -p no:randomly -m cuda tests
    step bench_cpab 120 python3 tools/benchmark.py cpab --repeat 5 --reference-repeat 1
    step bench_motion 150 python3 tools/benchmark.py motion --backend cuda --repeat 2 \
        --distribution fixture-noisy --fixture ../shared/fixtures/cpab_libcpab_seed0.pt
fi
if [ "$part" != core ]; then
    official=()
    [ -d .official ] && official=(--official .official)
    step bench_model 240 python3 tools/benchmark.py model --device cuda --repeat 30 "${official[@]}"
    step bench_compiled 300 python3 tools/benchmark.py model --device cuda --repeat 30 \
        --models TPSMM CPABMM --compile
    step bench_train 240 python3 tools/benchmark.py train --device cuda --sizes 256x8 --repeat 5 --amp
    step bench_train_vgg 240 python3 tools/benchmark.py train --device cuda --sizes 256x8 \
        --repeat 5 --amp --perceptual
    step bench_startup 180 python3 tools/benchmark.py startup --device cuda --repeat 2
    step bench_demo 180 python3 tools/benchmark.py demo --device cuda --frames 60 --skip-memory
fi
exit "$failed"
