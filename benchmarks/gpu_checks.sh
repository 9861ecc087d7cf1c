#!/usr/bin/env bash
# The project's GPU checks in one call, for a short lease on a GPU machine:
#   1. ssl_throughput.py: MYOW step samples/s (baseline, fp32, bf16 + channels-last,
#      + torch.compile) and the neural step;
#   2. segmentation.py: training / inference throughput of every task-2 model;
#   3. the task-2 model grid (benchmarks/task2_models.yaml, 54 cells) through `mtneuro bench`.
# Each stage has its own time limit, so a slow stage cannot starve the ones before it;
# a stage cut short leaves what it finished (bench cells are records of their own).
#
#   OUT=runs/gpu bash benchmarks/gpu_checks.sh          # from the repository root
#   SKIP_SSL=1 DEADLINE=420 OUT=... bash benchmarks/gpu_checks.sh   # stages 2 and 3 only
#
# Without an installed project, put src/ on PYTHONPATH; wheels of missing dependencies in
# WHEELS (a folder) are installed first, without touching what is already there.
set -u
OUT=${OUT:-runs/gpu-checks}
PY=${PY:-python3}
DEADLINE=${DEADLINE:-560}  # seconds for the whole script
mkdir -p "$OUT"

left() { echo $(( DEADLINE - SECONDS )); }
# a stage's limit: its own, or what is left, and at least 1 s (`timeout 0` would never stop)
limit() { local want=$1 rest; rest=$(left); (( rest < want )) && want=$rest; echo $(( want < 1 ? 1 : want )); }

{
    if [ -n "${WHEELS:-}" ] && ls "$WHEELS"/*.whl > /dev/null 2>&1; then
        $PY -m pip install --no-deps --quiet "$WHEELS"/*.whl
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
    nproc
} > "$OUT/env.txt" 2>&1

echo "== ssl_throughput ($(left) s left)"
[ -n "${SKIP_SSL:-}" ] || timeout "$(limit 260)" $PY benchmarks/ssl_throughput.py --device cuda --steps 20 --warmup 5 \
    --compile 2>&1 | tee "$OUT/ssl.txt"

echo "== segmentation ($(left) s left)"
timeout "$(limit 200)" $PY benchmarks/segmentation.py --device cuda 2>&1 | tee "$OUT/segmentation.txt"

echo "== task-2 model grid ($(left) s left)"
OMP_NUM_THREADS=2 timeout "$(limit 600)" $PY -m mtneuro bench \
    --suite benchmarks/task2_models.yaml --jobs 8 --quiet --out "$OUT/task2" \
    > "$OUT/task2_bench.log" 2>&1
echo "bench exit $? after ${SECONDS} s"
tail -n 5 "$OUT/task2_bench.log"
tar -czf "$OUT/task2_cells.tar.gz" -C "$OUT/task2" --exclude='*.png' --exclude='*.pt' \
    --exclude='checkpoints' cells && rm -rf "$OUT/task2"
ls -la "$OUT"
