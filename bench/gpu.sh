#!/usr/bin/env bash
# The GPU check, for a developer with an NVIDIA GPU: the CUDA test suite (tests/cuda: the op,
# module and optimizer parity suites rerun with ember on the GPU, whole training runs, and DDP
# over NCCL where there are 2 GPUs), then the benchmark rows on CUDA against PyTorch's CUDA
# eager. A few minutes on one GPU.
#   bash bench/gpu.sh [report-folder]      (default: gpu-report)
#   PYTHON=/path/to/python bash bench/gpu.sh    (the interpreter to test with; default: python)
set -uo pipefail
cd "$(dirname "$0")/.."
report="${1:-gpu-report}"
py="${PYTHON:-python}"
mkdir -p "$report"
# CuPy 14 and later compute bfloat16
"$py" -c "import cupy, sys; sys.exit(int(cupy.__version__.split('.')[0]) < 14)" 2>/dev/null \
  || "$py" -m pip install --quiet "cupy-cuda12x>=14"
# the DDP test starts its ranks through MPI (ember[distributed]'s packages)
"$py" -c "import mpi4py" 2>/dev/null || "$py" -m pip install --quiet "mpi4py>=4" "mpich>=4.3,<5"
"$py" -c "import torch" 2>/dev/null || echo "PyTorch is not installed: the suite compares with it; install a CUDA build of torch"
parallel=$("$py" -c "import xdist" 2>/dev/null && echo "-n auto")
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$py" -m pytest tests/cuda $parallel -q -p no:warnings -rf --tb=line 2>&1 | tee "$report/cuda-tests.log"
tests=${PIPESTATUS[0]}
"$py" bench/gpu.py --json "$report/bench.json" 2>&1 | tee "$report/bench.log"
bench=${PIPESTATUS[0]}
echo "CUDA suite: $(tail -n 1 "$report/cuda-tests.log")"
echo "benchmark rows (ember / PyTorch, CUDA):"
grep -E "x$| -$|FAILED|skipped" "$report/bench.log" || echo "  none: see $report/bench.log"
[ "$tests" -ne 0 ] && exit "$tests"
exit "$bench"
