#!/usr/bin/env bash
# Mutation testing (mutmut) of the code where a silent bug costs most: job variables, templating, the store's
# claims/leases/limits, scheduling. Not part of CI (it takes tens of minutes); docs/quality.md has the scores.
#
#   ./scripts/mutation.sh                    # every target, one after the other
#   ./scripts/mutation.sh jobvars templating # some of them: jobvars templating scheduling runs
#   MUTATION_MUTANTS='...' ./scripts/mutation.sh runs-postgresql
#                                            # `runs` with the contract tests on PostgreSQL too (a cluster per
#                                            # mutant: seconds each; not in the default list): for the mutants
#                                            # of code only PostgreSQL runs
#   MUTATION_JOBS=2 ./scripts/mutation.sh    # mutants tested at once (default 1: a shared 2-core machine)
#   MUTATION_FRESH=1 ./scripts/mutation.sh   # start again from this checkout (default: go on where it stopped)
#   MUTATION_MEMORY_MB=8192 ./scripts/mutation.sh  # address space per process (default 4096; 0: no limit)
#   MUTATION_MUTANTS='deploytool.store.runs.*find* deploytool.store.runs.*counts*' ./scripts/mutation.sh runs
#                                            # only these mutants (names as `mutmut results` prints them, with
#                                            # * wildcards): check the survivors again after adding tests
#
# Each target runs in its own copy of the checkout under .mutation/<target> (git-ignored), with mutmut's
# config written there, at the lowest CPU priority. Surviving mutants are listed at the end of each target;
# `cd .mutation/<target> && ../../.venv/bin/mutmut show NAME` shows one.
set -euo pipefail
export DEPLOYTOOL_SCRIPT=mutation.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

MUTMUT_VERSION=3.8.1
if ! "$VENV_BIN/python" -c "import mutmut" 2>/dev/null; then
  say "pip install mutmut==$MUTMUT_VERSION into $VENV"
  "$VENV_BIN/python" -m pip install --disable-pip-version-check -q "mutmut==$MUTMUT_VERSION"
fi

# target -> the files mutated ; the tests that must kill the mutants (fast, in-process ones)
declare -A MUTATE=(
  [jobvars]="deploytool/jobvars.py"
  [templating]="deploytool/templating/*"
  [scheduling]="deploytool/scheduling/*"
  [runs]="deploytool/store/runs.py"
  [runs-postgresql]="deploytool/store/runs.py"
)
# extra pytest arguments of a target, one per line. `runs`: the store's tests on SQLite only (a PostgreSQL cluster
# started for each mutant would make each one take seconds). `scheduling`: without the 14-second race of four
# schedulers (it holds the store's idempotent insert, which `runs` mutates); with it every mutant of a pass took
# 14 s or more, and mutmut, which runs the mutants it expects to be fastest first, never reached them.
# `runs-postgresql`: the same tests as `runs` with the contract suite on PostgreSQL too (no -k).
declare -A PYTEST_ARGS=(
  [runs]=$'-k\nnot postgresql'
  [scheduling]=$'-k\nnot racing'
)
declare -A TESTS=(
  [jobvars]="tests/test_jobvars.py tests/test_jobvars_messages.py tests/test_pool_types.py"
  [templating]="tests/test_templating.py tests/test_template_limits.py tests/test_template_estimates.py
    tests/test_template_errors.py"
  [scheduling]="tests/scheduling/test_scheduler.py tests/scheduling/test_catch_up.py tests/scheduling/test_schedule_items.py
    tests/scheduling/test_scheduler_edges.py tests/scheduling/test_refused_parameters.py tests/scheduling/test_cli.py"
  [runs]="tests/store/test_runs.py tests/store/test_slots_and_retries.py tests/store/test_contract.py tests/store/test_run_books.py"
)
TESTS[runs-postgresql]=${TESTS[runs]}


targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(jobvars templating scheduling runs)
for target in "${targets[@]}"; do
  [[ -n "${MUTATE[$target]:-}" ]] || { say "unknown target '$target' (jobvars templating scheduling runs runs-postgresql)"; exit 2; }
done

for target in "${targets[@]}"; do
  work="$REPO_ROOT/.mutation/$target"
  if [[ -d "$work" && -z "${MUTATION_FRESH:-}" ]]; then
    say "reusing $work (mutmut goes on where it stopped; MUTATION_FRESH=1 starts again from this checkout)"
  else
    rm -rf "$work"
    mkdir -p "$work"
    cp -r deploytool tests examples schemas pyproject.toml "$work/"
    find "$work" -name __pycache__ -type d -prune -exec rm -rf {} +
  fi
  {
    echo "[mutmut]"
    echo "source_paths=deploytool"
    echo "only_mutate=${MUTATE[$target]}"
    echo "pytest_add_cli_args="
    printf '    %s\n' -p no:cacheprovider -p no:xdist -q
    [[ -n "${PYTEST_ARGS[$target]:-}" ]] && while IFS= read -r arg; do echo "    $arg"; done <<<"${PYTEST_ARGS[$target]}"
    echo "pytest_add_cli_args_test_selection="
    for t in ${TESTS[$target]}; do echo "    $t"; done
    echo "also_copy="
    echo "    examples/"
    echo "    schemas/"
  } >"$work/setup.cfg"
  say "== $target: mutating ${MUTATE[$target]}; tests: ${TESTS[$target]}"
  start=$SECONDS
  read -r -a only <<<"${MUTATION_MUTANTS:-}"  # split on spaces, no file name expansion of the * in them
  # A mutant that loops building a value (some of templating's do) would take the machine's memory before its
  # timeout: each process gets at most MUTATION_MEMORY_MB of address space (0: no limit); past it the tests
  # fail with MemoryError and the mutant counts as killed.
  memory_mb="${MUTATION_MEMORY_MB:-4096}"
  limit="unlimited"
  [[ "$memory_mb" != 0 ]] && limit=$((memory_mb * 1024))
  (cd "$work" && ulimit -v "$limit" && nice -n 19 "$VENV_BIN/mutmut" run --max-children "${MUTATION_JOBS:-1}" "${only[@]}") \
    >"$work/run.log" 2>&1 \
    || { tail -n 30 "$work/run.log"; say "mutmut run failed for $target"; exit 1; }
  (cd "$work" && "$VENV_BIN/mutmut" results --all true) >"$work/results.txt" 2>&1 || true
  killed=$(grep -c ': killed' "$work/results.txt" || true)
  survived=$(grep -c ': survived' "$work/results.txt" || true)
  other=$(grep -vc -e ': killed' -e ': survived' "$work/results.txt" || true)
  total=$((killed + survived))
  score="n/a"
  [[ $total -gt 0 ]] && score="$((100 * killed / total))%"
  say "== $target: $killed killed, $survived survived, $other other (timeouts, suspicious, no tests): score $score ($((SECONDS - start)) s)"
  grep ': survived' "$work/results.txt" || true
done
