#!/usr/bin/env bash
# Two run_search.py workers on one study in a throwaway PostgreSQL server (127.0.0.1).
#
# Installs PostgreSQL (Debian package) if it is missing, starts a private cluster on a free
# port, runs two workers with the smoke preset on a synthetic dataset, and checks that the study
# holds exactly the requested COMPLETE trials and that both workers contributed. Fails loudly
# when PostgreSQL cannot be installed or started. Run with `make test-postgres`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
TRIALS="${TRIALS:-6}"

fail() { echo "postgres_two_workers: FAIL: $*" >&2; exit 1; }

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN="$(pg_bindir)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "postgres_two_workers: PostgreSQL not found; installing the Debian package" >&2
    [ "$(id -u)" = 0 ] || fail "PostgreSQL is not installed and we are not root to apt-get it"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
        || fail "apt-get install postgresql failed; cannot run the PostgreSQL test"
    BIN="$(pg_bindir)"
    [ -n "$BIN" ] && [ -x "$BIN/initdb" ] || fail "postgresql installed but initdb not found"
fi
"$PY" -c "import psycopg" 2>/dev/null || fail "psycopg missing: pip install -e . (pyproject)"

TMP="$(mktemp -d /tmp/maxnas-pg.XXXXXX)"
chmod 755 "$TMP"
# The server refuses to run as root: run it as the 'postgres' user when we are root.
RUNAS=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres \
        || fail "cannot create a non-root user to run PostgreSQL"
    chown postgres "$TMP"
    RUNAS=(runuser -u postgres --)
fi
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

cleanup() {
    "${RUNAS[@]}" "$BIN/pg_ctl" -D "$TMP/pgdata" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

"${RUNAS[@]}" "$BIN/initdb" -D "$TMP/pgdata" -U maxnas --auth=trust -E UTF8 >"$TMP/initdb.log" \
    || { cat "$TMP/initdb.log" >&2; fail "initdb failed"; }
"${RUNAS[@]}" "$BIN/pg_ctl" -D "$TMP/pgdata" -w -t 60 -l "$TMP/pgdata/server.log" \
    -o "-h 127.0.0.1 -p $PORT -k $TMP" start >/dev/null \
    || { cat "$TMP/pgdata/server.log" >&2; fail "PostgreSQL did not start"; }
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U maxnas maxnas || fail "createdb failed"
URL="postgresql://maxnas@127.0.0.1:$PORT/maxnas"
echo "postgres_two_workers: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on $URL"

DATA="$TMP/camvid"
"$PY" -c "from pathlib import Path; from nas.data.synthetic import make_synthetic_camvid as m; m(Path('$DATA'))"

mkdir -p "$TMP/w1" "$TMP/w2"
# Same artifact folder (in production: a shared mount), separate report folders.
COMMON=(--storage "$URL" --study-name pg-two-workers --trials "$TRIALS" --preset smoke
        --data-dir "$DATA" --artifact-dir "$TMP/artifacts" --no-progress --torch-threads 1
        --jobs 1)
"$PY" run_search.py "${COMMON[@]}" --studies-dir "$TMP/w1" --seed 1 >"$TMP/w1.log" 2>&1 &
P1=$!
"$PY" run_search.py "${COMMON[@]}" --studies-dir "$TMP/w2" --seed 2 >"$TMP/w2.log" 2>&1 &
P2=$!
RC1=0; RC2=0
wait "$P1" || RC1=$?
wait "$P2" || RC2=$?
if [ "$RC1" != 0 ] || [ "$RC2" != 0 ]; then
    grep -v "^\[I " "$TMP/w1.log" | tail -n 40 >&2; grep -v "^\[I " "$TMP/w2.log" | tail -n 40 >&2
    fail "workers exited with $RC1 and $RC2"
fi

"$PY" - "$URL" "$TRIALS" <<'PYEOF'
import sys
import optuna
from optuna.trial import TrialState

url, n = sys.argv[1], int(sys.argv[2])
study = optuna.load_study(study_name="pg-two-workers", storage=url)
trials = study.get_trials()
complete = [t for t in trials if t.state == TrialState.COMPLETE]
workers = {t.user_attrs.get("worker") for t in complete}
refs = sorted(t.user_attrs["reference"] for t in complete if "reference" in t.user_attrs)
print(f"postgres_two_workers: {len(complete)} complete of {len(trials)} trials, "
      f"workers {sorted(workers)}, references {refs}")
assert len(complete) == n, f"expected exactly {n} COMPLETE trials, got {len(complete)}"
assert len(workers) == 2, f"expected both workers to contribute, got {workers}"
assert refs == ["ai85unetlarge", "ai85unetlarge-w4", "unetmysmall", "unetmysmall-w4"], \
    f"references: {refs}"
assert not [t for t in trials if t.state == TrialState.RUNNING], "trials left RUNNING"
PYEOF
# SIGTERM (what `timeout`, a batch scheduler or systemd sends) to a --jobs 2 search on the same
# study, then SIGINT to its whole process group (a terminal's Ctrl-C): its running trials end
# FAIL, nothing stays RUNNING, exit status 143 / 130.
EXTRA=6
for SIG in TERM INT; do
EXTRA=$((EXTRA + 6))
W="$TMP/w3-$SIG"
# setsid: its own process group, so the group signal reaches the search and its workers only
setsid "$PY" run_search.py "${COMMON[@]}" --trials "$((TRIALS + EXTRA))" --jobs 2 \
    --studies-dir "$W" --trainer tests.search.fakes:slow_fake_train >"$W.log" 2>&1 &
P3=$!
"$PY" - "$URL" <<'PYEOF' || { kill "$P3"; tail -n 40 "$W.log" >&2; fail "no trial started"; }
import sys, time
import optuna
from optuna.trial import TrialState

study = optuna.load_study(study_name="pg-two-workers", storage=sys.argv[1])
for _ in range(600):
    if any(t.state == TrialState.RUNNING and t.user_attrs.get("feasible")
           for t in study.get_trials()):
        sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PYEOF
if [ "$SIG" = INT ]; then kill -INT -- "-$P3"; WANT=130; else kill -TERM "$P3"; WANT=143; fi
RC3=0
wait "$P3" || RC3=$?
[ "$RC3" = "$WANT" ] || { tail -n 40 "$W.log" >&2; fail "SIG$SIG: exit status $RC3, not $WANT"; }
grep -q "Traceback" "$W.log" && { tail -n 40 "$W.log" >&2; fail "SIG$SIG: traceback"; }
"$PY" - "$URL" "SIG$SIG" <<'PYEOF'
import sys
import optuna
from optuna.trial import TrialState

sig = sys.argv[2]
trials = optuna.load_study(study_name="pg-two-workers", storage=sys.argv[1]).get_trials()
assert not [t for t in trials if t.state == TrialState.RUNNING], f"{sig} left trials RUNNING"
failed = [t.user_attrs.get("fail_reason") for t in trials if t.state == TrialState.FAIL]
assert any(sig in (r or "") for r in failed), f"no trial failed by {sig}: {failed}"
print(f"postgres_two_workers: {sig} to --jobs 2: exit ok, FAIL {failed}, none RUNNING")
PYEOF
[ -f "$W/pg-two-workers/report.html" ] || fail "SIG$SIG: no report written"
done
# Rungs on PostgreSQL: two processes share the promotions of one study to a second preset
# (fake trainer and space: the rung logic, not the training, is under test here).
RUNGS=(--storage "$URL" --study-name pg-rungs --trials 10 --data-dir "$DATA" --no-progress
       --artifact-dir "$TMP/artifacts-rungs" --jobs 1 --sampler random --rungs smoke,proxy-fast
       --promote-share 0.5 --promote-margin 0.5 --trainer tests.search.fakes:rung_train
       --components tests.search.fakes:fake_components)
MAXNAS_FAKE_RUNG_SLEEP=1 "$PY" run_search.py "${RUNGS[@]}" --studies-dir "$TMP/r1" --seed 1 \
    >"$TMP/r1.log" 2>&1 &
P4=$!
MAXNAS_FAKE_RUNG_SLEEP=1 "$PY" run_search.py "${RUNGS[@]}" --studies-dir "$TMP/r2" --seed 2 \
    >"$TMP/r2.log" 2>&1 &
P5=$!
RC4=0; RC5=0
wait "$P4" || RC4=$?
wait "$P5" || RC5=$?
if [ "$RC4" != 0 ] || [ "$RC5" != 0 ]; then
    tail -n 40 "$TMP/r1.log" >&2; tail -n 40 "$TMP/r2.log" >&2
    fail "rungs: workers exited with $RC4 and $RC5"
fi
"$PY" - "$URL" <<'PYEOF'
import sys
import optuna
from optuna.trial import TrialState

base = optuna.load_study(study_name="pg-rungs", storage=sys.argv[1]).get_trials()
upper = optuna.load_study(study_name="pg-rungs@proxy-fast", storage=sys.argv[1]).get_trials()
done = [t for t in upper if t.state == TrialState.COMPLETE]
sources = [t.user_attrs["promotion_of"] for t in done]
assert sum(t.state == TrialState.COMPLETE for t in base) == 10, "rungs: search study"
assert done and len(sources) == len(set(sources)), f"rungs: promotions {sources}"
assert not [t for t in upper if t.state in (TrialState.RUNNING, TrialState.WAITING)]
assert all("miou@smoke" in t.user_attrs and "miou@proxy-fast" in t.user_attrs for t in done)
workers = {t.user_attrs["worker"] for t in done}
print(f"postgres_two_workers: rungs: {len(done)} promotions by {len(workers)} worker(s)")
PYEOF
echo "postgres_two_workers: PASS"
