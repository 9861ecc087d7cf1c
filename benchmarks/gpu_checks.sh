#!/usr/bin/env bash
# The project's GPU checks in one call, for a short lease on a GPU machine (8 minutes).
# Stages, in priority order, each under its own time limit (a slow stage cannot starve
# the ones after it; every stage prints its rows as they come and a failing stage never
# stops the script):
#   1. env: GPU, driver, torch, CPU count;
#   2. SSL MYOW image step (ssl_throughput.py), batch 64 then batch 8: the straightforward
#      loop, the eager fp32 step (the dloss reference), the current default and one row
#      per candidate (static step, CUDA graph, fused target views, host index copies,
#      fused SGD; at batch 64 also the third mining view of the paper preset); each batch
#      size in its own process;
#   3. the MTNeuro reference trainer (if REF and REF_BENCH are set), batch 64 and 8;
#   4. end to end: `mtneuro pretrain --method myow --source phantom --device cuda
#      --batch-size 64` for E2E_EPOCHS epochs over the 1,076 ROI-C1 tiles, with the
#      fastest setting of stage 2 that keeps the protocol (wall time, samples/s);
#   5. compiled candidates (torch.compile of the whole step), each in its own process:
#      minutes of compilation, so last of the SSL rows and time-boxed;
#   6. neural MLP step (ssl_throughput.py neural) and task-2 U-Net / 3D U-Net steps
#      (segmentation.py, eager vs CUDA graph);
#   7. the project's test suite, if SUITE_CMD is set;
#   8. summary table (gpu_summary.py): ratios to the loop, the default and the reference.
#
#   OUT=runs/gpu bash benchmarks/gpu_checks.sh                  # on the GPU machine
#   DEVICE=cpu SMALL=1 OUT=/tmp/dry bash benchmarks/gpu_checks.sh  # dry run of the flow on CPU
#
# Environment: OUT (results: at most 8 files, none in sub-folders), PY (python3),
# DEADLINE (seconds for the whole script, default 470), WHEELS (a folder of wheels of
# missing pure-Python dependencies, installed to /tmp/site), REF (an MTNeuro checkout),
# REF_BENCH (path to ref_ssl_bench.py), REF_PYTHONPATH (extra paths for the reference's
# own dependencies, e.g. the patched kornia 0.6.0), SUITE_CMD (a test command),
# E2E_EPOCHS (default 10), COMPILE_BUDGET (seconds for stage 5, default 200), SKIP (stage
# numbers to skip, e.g. "5 7").
set -u
OUT=${OUT:-runs/gpu-checks}
PY=${PY:-python3}
DEADLINE=${DEADLINE:-470}
DEVICE=${DEVICE:-cuda}
SMALL=${SMALL:-}
E2E_EPOCHS=${E2E_EPOCHS:-10}
SKIP=" ${SKIP:-} "
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/gpu-checks-inductor}
JSON="$OUT/ssl.jsonl"
RESERVE=10  # seconds kept for the summary

# stage limits x SCALE (the CPU dry run: 8, every row is slower there)
SCALE=${SCALE:-$([ "$DEVICE" = cpu ] && echo 8 || echo 1)}

left() { echo $(( DEADLINE - RESERVE - SECONDS )); }
# a stage's limit: its own (x SCALE), or what is left, and at least 1 s (`timeout 0` never stops)
limit() { local want=$(( $1 * SCALE )) rest; rest=$(left); (( rest < want )) && want=$rest; echo $(( want < 1 ? 1 : want )); }
stage() { echo; echo "== $1 ($(left) s left)"; }
skipped() { [[ "$SKIP" == *" $1 "* ]] || (( $(left) < 5 )); }
# run a command under a time limit; report how it ended without stopping the script
run() {
    local seconds=$1; shift
    timeout -k 5 "$seconds" "$@"
    local code=$?
    (( code == 124 || code == 137 )) && echo "   [stopped at its limit of $seconds s]"
    (( code != 0 && code != 124 && code != 137 )) && echo "   [exit $code]"
    return 0
}

if [ "$DEVICE" = cpu ]; then  # dry run: tiny sizes, trace-only compilation
    SSL=(--device cpu --small --threads 1 --compile-backend aot_eager)
    B64=(--batch 16 --steps 2 --warmup 2); B8=(--batch 8 --steps 2 --warmup 2)
    NEURAL=(--batch 64 --steps 2 --warmup 2)
    SEG=(--device cpu --small --steps 1 --compile-mode aot_eager:)
    E2E=(--device cpu --quick --epochs 1)
    REF_STEPS=(--steps 2 --warmup 1 --size 32)
else
    SSL=(--device cuda)
    B64=(--batch 64 --steps 20 --warmup 5); B8=(--batch 8 --steps 60 --warmup 10)
    NEURAL=(--batch 512 --steps 40 --warmup 10)
    SEG=(--device cuda --steps 20)
    E2E=(--device cuda --batch-size 64 --epochs "$E2E_EPOCHS")
    REF_STEPS=(--steps 12 --warmup 3)
fi
[ -n "$SMALL" ] && [ "$DEVICE" != cpu ] && SSL+=(--small)

stage "1. env"
{
    if [ -n "${WHEELS:-}" ] && ls "$WHEELS"/*.whl > /dev/null 2>&1; then
        run "$(limit 60)" $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --upgrade --target /tmp/site "$WHEELS"/*.whl && echo "wheels from $WHEELS in /tmp/site"
    fi
    [ -d /tmp/site ] && export PYTHONPATH="$PYTHONPATH:/tmp/site"
    command -v nvidia-smi > /dev/null && run 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    echo "cpus $(nproc)"
    run 60 $PY -c "import sys, torch, mtneuro; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'devices', torch.cuda.device_count()); from mtneuro.acceleration import AUTO_STEP; print('AUTO_STEP', AUTO_STEP)"
    git log -1 --format='commit %h %s' 2>/dev/null
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

ssl() {  # ssl_throughput.py with the common arguments, rows appended to ssl.jsonl
    run "$1" $PY benchmarks/ssl_throughput.py "${SSL[@]}" --json "$JSON" "${@:2}" 2>&1 | tee -a "$OUT/ssl.txt"
}
CORE=(baseline eager-fp32 default static cuda-graph cuda-graph-fp32 cuda-graph-fuse-views)
if ! skipped 2; then
    stage "2. SSL image step, batch 64"
    ssl "$(limit 90)" --workloads image "${B64[@]}" --variants "${CORE[@]}" third-view
    stage "2. SSL image step, batch 8"
    ssl "$(limit 60)" --workloads image "${B8[@]}" --variants "${CORE[@]}" eager-host-indices eager-fused-sgd
fi

if ! skipped 3 && [ -n "${REF:-}" ] && [ -n "${REF_BENCH:-}" ]; then
    stage "3. MTNeuro reference trainer"
    for batch in 64 8; do
        PYTHONPATH="${REF_PYTHONPATH:+$REF_PYTHONPATH:}$PYTHONPATH" run "$(limit 45)" \
            $PY "$REF_BENCH" --ref "$REF" --method myow --batch "$batch" "${REF_STEPS[@]}" \
            2>&1 | grep -v "^\s*$" | tail -n 20 | tee -a "$OUT/reference.txt"
    done
fi

if ! skipped 4; then
    stage "4. end to end: mtneuro pretrain (${E2E[*]})"
    BEST=/tmp/gpu-checks-best.yaml
    $PY benchmarks/gpu_summary.py best --json "$JSON" --batch 64 > "$BEST" 2> /dev/null
    [ "$DEVICE" = cpu ] && $PY benchmarks/gpu_summary.py best --json "$JSON" --batch 16 > "$BEST" 2> /dev/null
    CONFIG=(); [ -s "$BEST" ] && CONFIG=(--config "$BEST")
    settings=$(grep -v '^#' "$BEST" 2> /dev/null | tr '\n' ' ')
    { echo "settings: ${settings:-the defaults of the trainer}"; head -n 1 "$BEST" 2> /dev/null; } \
        | tee -a "$OUT/pretrain.txt"
    rm -rf /tmp/gpu-checks-e2e
    start=$SECONDS
    run "$(limit 75)" $PY -m mtneuro pretrain --method myow --source phantom "${E2E[@]}" \
        --out /tmp/gpu-checks-e2e "${CONFIG[@]}" 2>&1 | tee -a "$OUT/pretrain.txt"
    echo "process wall time $(( SECONDS - start )) s (imports, phantom tiles, training)" | tee -a "$OUT/pretrain.txt"
    [ -f /tmp/gpu-checks-e2e/metrics.json ] && cat /tmp/gpu-checks-e2e/metrics.json >> "$OUT/pretrain.txt"
    [ -f /tmp/gpu-checks-e2e/train_log.jsonl ] && tail -n 2 /tmp/gpu-checks-e2e/train_log.jsonl >> "$OUT/pretrain.txt"
fi

if ! skipped 5; then
    stage "5. compiled whole step, batch 64 (compile time in warm-up s)"
    budget=$(limit "${COMPILE_BUDGET:-200}"); stop=$(( SECONDS + budget ))
    for variant in cuda-graph-compile-default cuda-graph-compile compile-max-autotune; do
        rest=$(( stop - SECONDS )); (( rest < 60 * SCALE )) && break  # no row cut short
        ssl "$rest" --workloads image "${B64[@]}" --variants "$variant"
    done
    rest=$(( stop - SECONDS ))
    (( rest >= 40 * SCALE )) && ssl "$rest" --workloads image "${B8[@]}" --variants cuda-graph-compile-default
fi

if ! skipped 6; then
    stage "6. neural MLP step, task-2 U-Net and 3D U-Net"
    ssl "$(limit 40)" --workloads neural "${NEURAL[@]}" --variants baseline eager-fp32 default static cuda-graph
    run "$(limit 60)" $PY benchmarks/segmentation.py "${SEG[@]}" --models unet,unet3d,unet-mtneuro,unet3d-mtneuro \
        --train-variants graph 2>&1 | tee -a "$OUT/segmentation.txt"
fi

if ! skipped 7 && [ -n "${SUITE_CMD:-}" ]; then
    stage "7. test suite: $SUITE_CMD"
    run "$(limit 240)" bash -c "$SUITE_CMD" > "$OUT/suite.txt" 2>&1
    tail -n 15 "$OUT/suite.txt"
fi

RESERVE=0
stage "8. summary"
run "$(limit 10)" $PY benchmarks/gpu_summary.py table --json "$JSON" --reference "$OUT/reference.txt" \
    2>&1 | tee "$OUT/summary.txt"
echo "done after $SECONDS s"
ls -la "$OUT"
