#!/usr/bin/env bash
# The GPU check, for a developer with an NVIDIA GPU: the CUDA test suite (tests/cuda: the op,
# module and optimizer parity suites rerun with ember on the GPU, and whole training runs),
# then the benchmark rows on CUDA against PyTorch's CUDA eager. A few minutes on one GPU.
#   bash bench/gpu.sh [report-folder]      (default: gpu-report)
set -uo pipefail
cd "$(dirname "$0")/.."
report="${1:-gpu-report}"
mkdir -p "$report"
python3 -c "import cupy" 2>/dev/null || pip install --quiet "cupy-cuda12x>=13"
python3 -c "import torch" 2>/dev/null || echo "PyTorch is not installed: the suite compares with it; install a CUDA build of torch"
parallel=$(python3 -c "import xdist" 2>/dev/null && echo "-n auto")
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 -m pytest tests/cuda $parallel -q -p no:warnings -rf --tb=line 2>&1 | tee "$report/cuda-tests.log"
tests=${PIPESTATUS[0]}
python3 bench/gpu.py --json "$report/bench.json" 2>&1 | tee "$report/bench.log"
bench=${PIPESTATUS[0]}
echo "CUDA suite: $(tail -n 1 "$report/cuda-tests.log")"
echo "benchmark rows (ember / PyTorch, CUDA):"
grep -E "x$|FAILED" "$report/bench.log" || echo "  none: see $report/bench.log"
[ "$tests" -ne 0 ] && exit "$tests"
exit "$bench"
