#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU and no internet: the GPU tests, every example on
# cuda, and the benchmarks with their report, all written to OUTDIR.
#
#   scripts/gpu_check.sh OUTDIR          # e.g. benchmarks/results/h100 (issue 5's results live there)
#
# Steps (each runs even when an earlier one failed; its exit status goes into OUTDIR/summary.md):
#   1. env       nvidia-smi, Python and package versions                       -> env.log
#   2. install   pip install --no-deps --no-build-isolation -e . (else PYTHONPATH=$PWD)
#   3. tests     TRITONGRAD_BLOCK_TORCH=1 python -m pytest -m cuda tests       -> tests.log, tests.xml
#                (tests marked `exclusive` run alone afterwards                -> tests_exclusive.xml)
#   4. examples  every examples/*.py with --device cuda                         -> examples.log
#   5. bench     benchmarks/, full sizes, within a time budget                  -> bench.json, bench.log
#   6. report    scripts/bench_report.py                                        -> bench.md, bench.png (or .svg)
#   7. matmul    scripts/matmul_table.py --measure: the matmul config table     -> matmul_configs.py, matmul_table.log
#                (commit it as kernels/matmul_configs.py; a dry run writes the derived table instead)
#   8. host      benchmarks/bench_host.py with TRITONGRAD_STUB_CUDA=1: the CUDA path's host cost with the
#                driver stubbed, on this machine's CPU, beside NumPy and torch-cpu  -> host.json, host.log
#   9. summary                                                                  -> summary.md
#
# The whole run fits in about 9 minutes on an H100, Triton's compilation included: every step has a
# time limit taken from what is left (GPU_CHECK_TOTAL_S, default 530 s). The benchmarks stop
# starting new cases when their budget is spent (the cases left show as skipped) and the results
# file is written all the same; 8192^3 fp32 ieee matmul is skipped for the budget.
#
# Knobs: PYTHON (default python, else python3), GPU_CHECK_TOTAL_S (530), GPU_CHECK_TESTS_S (240),
# GPU_CHECK_BENCH_S (240), GPU_CHECK_MATMUL_S (110: the matmul table's measuring), TRITONGRAD_BENCH_CASE_S (0.1: seconds of timed calls per case),
# GPU_CHECK_TESTS (test paths, default "tests"), GPU_CHECK_EXAMPLES (default examples/*.py),
# GPU_CHECK_BENCH (benchmark files, default all: the copy reference first, matmul, the slowest, last).
# GPU_CHECK_PYTEST_ARGS (extra pytest arguments for the tests; default "-n 8" where pytest-xdist is installed:
# Triton's compilation is CPU-bound and the GPU machines have 16 cores).
# GPU_CHECK_DRY=1: a dry run of the plumbing on a machine without a GPU: emulated CUDA (Triton's
# interpreter), a few tests, short examples, quick benchmarks; its timings mean nothing.
set -u

OUT=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$(command -v python || command -v python3)}
DRY=${GPU_CHECK_DRY:-0}
START=$(date +%s)
DEADLINE=$((START + ${GPU_CHECK_TOTAL_S:-530}))
declare -A STATUS NOTE
# NOTE: pytest through a wrapper that turns SIGINT and SIGTERM into KeyboardInterrupt even when this
# script was started with SIGINT ignored (a background job): interrupted, pytest still writes its
# junit xml and benchmark JSON.
PYTEST=("$PY" -c 'import signal, sys, pytest
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.default_int_handler)
sys.exit(pytest.main(sys.argv[1:]))')

left() { echo $((DEADLINE - $(date +%s))); }
clamp() { local v=$1 lo=$2 hi=$3; ((v < lo)) && v=$lo; ((v > hi)) && v=$hi; echo "$v"; }
say() { echo "[gpu_check $(($(date +%s) - START))s] $*"; }
# run_step NAME SECONDS LOG CMD...: run with a time limit (SIGINT first, so pytest still writes its
# reports), record the exit status (124: the time limit was reached).
run_step() {
    local name=$1 secs=$2 log=$3
    shift 3
    say "$name: up to ${secs}s -> $(basename "$log")"
    timeout -s INT -k 30 "$secs" "$@" >>"$log" 2>&1
    STATUS[$name]=$?
    say "$name: exit ${STATUS[$name]}"
}

if [[ $DRY == 1 ]]; then
    export TRITONGRAD_EMULATE_CUDA=1 TRITONGRAD_BENCH_QUICK=1 TRITONGRAD_BENCH_EMULATED=1
    TESTS=${GPU_CHECK_TESTS:-tests/test_cuda_graph_example.py}
else
    export TRITONGRAD_EMULATE_CUDA=0
    unset TRITONGRAD_BENCH_QUICK TRITONGRAD_BENCH_EMULATED
    export TRITONGRAD_BENCH_CASE_S=${TRITONGRAD_BENCH_CASE_S:-0.1}
    TESTS=${GPU_CHECK_TESTS:-tests}
fi

# --- 1. environment ---------------------------------------------------------------------------------
{
    echo "date: $(date -u +%FT%TZ)  host: $(hostname)  dry run: $DRY"
    echo "commit: $(git rev-parse HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | grep -q . && echo '(with local changes)')"
    nvidia-smi || echo "nvidia-smi: not available"
    echo "python: $PY ($("$PY" --version 2>&1))"
    "$PY" - <<'EOF'
import importlib.metadata as md
for dist in ["triton", "numpy", "torch", "cupy", "cupy-cuda12x", "cupy-cuda13x", "cuda-core", "cuda-bindings", "pytest",
             "pytest-benchmark", "setuptools", "matplotlib"]:
    try:
        print(f"{dist}: {md.version(dist)}")
    except md.PackageNotFoundError:
        print(f"{dist}: not installed")
EOF
} >"$OUT/env.log" 2>&1
STATUS[env]=0
cat "$OUT/env.log"

# --- 2. install -------------------------------------------------------------------------------------
importable() { (cd /tmp && "$PY" -c "import tritongrad, os, sys; sys.exit(os.path.dirname(os.path.dirname(tritongrad.__file__)) != sys.argv[1])" "$ROOT") 2>/dev/null; }
if importable; then
    NOTE[install]="tritongrad already importable from $ROOT"
    STATUS[install]=0
elif [[ $DRY == 1 ]]; then
    # NOTE: a dry run runs on a development machine: never install into its (shared) environment
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    NOTE[install]="dry run: PYTHONPATH=$ROOT, nothing installed"
    importable
    STATUS[install]=$?
elif "$PY" -m pip install --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 && importable; then
    NOTE[install]="pip install -e ."
    STATUS[install]=0
else
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    NOTE[install]="pip install failed (see install.log): PYTHONPATH=$ROOT"
    importable
    STATUS[install]=$?
fi
say "install: ${NOTE[install]}"

# --- 3. tests (GPU tier, torch blocked) -------------------------------------------------------------
if [[ -z ${GPU_CHECK_PYTEST_ARGS+x} ]]; then
    GPU_CHECK_PYTEST_ARGS=""
    [[ $DRY == 1 ]] || ! "$PY" -c "import xdist" 2>/dev/null || GPU_CHECK_PYTEST_ARGS="-n 8"
fi
# NOTE: keep time for examples, benchmarks and the report (about 300 s)
secs=$(clamp $(($(left) - 300)) 30 "${GPU_CHECK_TESTS_S:-240}")
# NOTE: tests marked `exclusive` (a real out-of-memory) run alone after the others, which may run in
# parallel: while a failing request maps memory, other processes' allocations fail.
# shellcheck disable=SC2086
TRITONGRAD_BLOCK_TORCH=1 run_step tests "$secs" "$OUT/tests.log" "${PYTEST[@]}" -m "cuda and not exclusive" $TESTS -q \
    -p no:cacheprovider $GPU_CHECK_PYTEST_ARGS --junitxml="$OUT/tests.xml"
# shellcheck disable=SC2086
TRITONGRAD_BLOCK_TORCH=1 run_step tests_exclusive 60 "$OUT/tests.log" "${PYTEST[@]}" -m "cuda and exclusive" $TESTS -q \
    -p no:cacheprovider --junitxml="$OUT/tests_exclusive.xml"
[[ ${STATUS[tests_exclusive]} == 5 ]] && STATUS[tests_exclusive]=0  # NOTE: 5: no test selected (e.g. a dry run)
[[ ${STATUS[tests]} == 0 ]] && STATUS[tests]=${STATUS[tests_exclusive]}

# --- 4. examples ------------------------------------------------------------------------------------
declare -A DRY_ARGS=([two_layer_net]="--steps 2" [rosenbrock]="--iterations 5" [linear_regression]="--epochs 3"
                     [manual_vs_autograd]="--steps 2" [cuda_graph_training]="--steps 2 --warmup 1"
                     [custom_triton_op]="--steps 2" [train_digits]="--epochs 1 --max-steps 2")
ex_pass=0 ex_fail=0 ex_failed=""
: >"$OUT/examples.log"
EXAMPLES=(examples/two_layer_net.py)  # NOTE: the README's main job first
for ex in examples/*.py; do [[ $ex == examples/two_layer_net.py ]] || EXAMPLES+=("$ex"); done
# shellcheck disable=SC2206
[[ -n ${GPU_CHECK_EXAMPLES:-} ]] && EXAMPLES=($GPU_CHECK_EXAMPLES)
for ex in "${EXAMPLES[@]}"; do
    name=$(basename "$ex" .py)
    args=""
    [[ $DRY == 1 ]] && args=${DRY_ARGS[$name]:-}
    secs=$(clamp $(($(left) - 240)) 20 90)
    echo "===== $ex --device cuda $args" >>"$OUT/examples.log"
    # shellcheck disable=SC2086
    run_step "example:$name" "$secs" "$OUT/examples.log" "$PY" "$ex" --device cuda $args
    echo "===== exit ${STATUS[example:$name]}" >>"$OUT/examples.log"
    if [[ ${STATUS[example:$name]} == 0 ]]; then ex_pass=$((ex_pass + 1)); else ex_fail=$((ex_fail + 1)); ex_failed+=" $name"; fi
done
STATUS[examples]=$((ex_fail > 0))

# --- 5. benchmarks ----------------------------------------------------------------------------------
BENCH=()
for f in updates elementwise reductions training overhead matmul; do  # NOTE: the copy reference first
    [[ -f benchmarks/bench_$f.py ]] && BENCH+=("benchmarks/bench_$f.py")
done
for f in benchmarks/bench_*.py; do
    # NOTE: bench_host.py runs in step 8, in its own (stubbed) process
    [[ " ${BENCH[*]} " == *" $f "* || $f == benchmarks/bench_host.py ]] || BENCH+=("$f")
done
# shellcheck disable=SC2206
[[ -n ${GPU_CHECK_BENCH:-} ]] && BENCH=($GPU_CHECK_BENCH)
# NOTE: keep time for the report, the matmul table and the host benchmark (about 220 s)
budget=$(clamp $(($(left) - 220)) 30 "${GPU_CHECK_BENCH_S:-240}")
rm -f "$OUT/bench.json"
TRITONGRAD_BENCH_BUDGET_S=$budget run_step bench $((budget + 45)) "$OUT/bench.log" "${PYTEST[@]}" "${BENCH[@]}" -q \
    -p no:cacheprovider --benchmark-enable --benchmark-json="$OUT/bench.json" --benchmark-max-time=0.25 \
    --benchmark-min-rounds=3 --benchmark-columns=median,rounds --benchmark-sort=name

# --- 6. report --------------------------------------------------------------------------------------
if [[ -s $OUT/bench.json ]]; then
    run_step report 60 "$OUT/report.log" "$PY" scripts/bench_report.py "$OUT/bench.json" --md "$OUT/bench.md" \
        --png "$OUT/bench.png"
else
    STATUS[report]=1
    NOTE[report]="no bench.json: the benchmarks wrote no results"
fi

# --- 7. matmul configuration table -------------------------------------------------------------------
if [[ $DRY == 1 ]]; then
    run_step matmul 60 "$OUT/matmul_table.log" "$PY" scripts/matmul_table.py --derive --out "$OUT/matmul_configs.py"
else
    secs=$(clamp $(($(left) - 80)) 30 "${GPU_CHECK_MATMUL_S:-110}")
    run_step matmul $((secs + 30)) "$OUT/matmul_table.log" "$PY" scripts/matmul_table.py --measure \
        --out "$OUT/matmul_configs.py" --budget-s "$secs"
fi

# --- 8. host overhead with the driver stubbed ---------------------------------------------------------
secs=$(clamp $(($(left) - 5)) 30 90)
rm -f "$OUT/host.json"
TRITONGRAD_STUB_CUDA=1 TRITONGRAD_EMULATE_CUDA=0 run_step host "$secs" "$OUT/host.log" "${PYTEST[@]}" \
    benchmarks/bench_host.py -q -p no:cacheprovider --benchmark-enable --benchmark-json="$OUT/host.json" \
    --benchmark-max-time=0.1 --benchmark-min-rounds=3 --benchmark-columns=median,rounds --benchmark-sort=name

# --- 9. summary ---------------------------------------------------------------------------------------
junit=$("$PY" - "$OUT/tests.xml" "$OUT/tests_exclusive.xml" <<'EOF' 2>/dev/null || echo "no junit xml"
import os, sys, xml.etree.ElementTree as ET
n = f = e = k = 0
for path in sys.argv[1:]:
    if os.path.exists(path):
        root = ET.parse(path).getroot()
        s = root if root.tag == "testsuite" else root.find("testsuite")
        n, f, e, k = (t + int(s.get(a, 0)) for t, a in zip((n, f, e, k), ("tests", "failures", "errors", "skipped")))
print(f"{n - f - e - k} passed, {f} failed, {e} errors, {k} skipped")
EOF
)
benchn=$("$PY" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['benchmarks']))" "$OUT/bench.json" 2>/dev/null || echo 0)
benchline=$(grep -E "[0-9]+ (passed|failed|skipped)" "$OUT/bench.log" 2>/dev/null | tail -1)
device=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
verdict() { [[ ${STATUS[$1]:-missing} == 0 ]] && echo pass || echo "FAIL (exit ${STATUS[$1]:-missing})"; }
{
    echo "# gpu_check summary"
    echo
    echo "- machine: $(hostname); GPU: ${device:-none (nvidia-smi unavailable)}$([[ $DRY == 1 ]] && echo '; DRY RUN on emulated CUDA: timings mean nothing')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null); finished in $(($(date +%s) - START)) s"
    echo
    echo "| step | status | result | output |"
    echo "| --- | --- | --- | --- |"
    echo "| install | $(verdict install) | ${NOTE[install]} | install.log |"
    echo "| tests (-m cuda, torch blocked) | $(verdict tests) | $junit | tests.log, tests.xml |"
    echo "| examples (--device cuda) | $(verdict examples) | $ex_pass passed, $ex_fail failed${ex_failed:+:$ex_failed} | examples.log |"
    echo "| benchmarks | $(verdict bench) | $benchn results; ${benchline:-no pytest summary line} | bench.json, bench.log |"
    echo "| report | $(verdict report) | ${NOTE[report]:-targets below} | bench.md, bench.png or bench.svg |"
    echo "| matmul table | $(verdict matmul) | $(grep -c '^(' "$OUT/matmul_table.log" 2>/dev/null) classes measured | matmul_configs.py, matmul_table.log |"
    echo "| host overhead (stubbed driver) | $(verdict host) | $(grep -E '[0-9]+ (passed|failed)' "$OUT/host.log" 2>/dev/null | tail -1) | host.json, host.log |"
    echo
    echo "Exit status 124 means the step reached its time limit (pytest was interrupted and still wrote its reports)."
    if [[ -s $OUT/bench.md ]]; then
        echo
        sed -n '/^## Targets/,/^## Results/p' "$OUT/bench.md" | sed '$d'
    fi
} >"$OUT/summary.md"
cat "$OUT/summary.md"
failed=0
for s in install tests examples bench report matmul host; do [[ ${STATUS[$s]:-1} == 0 ]] || failed=1; done
exit $failed
