#!/usr/bin/env bash
# Nightly HR sync: applies tonight's HR export (CSV) to the Authing user pool, with the deletion
# guard of policy.yaml, JSON logs for the log collector, and exit codes mapped to alerts.
#
# Expects, in the environment:
#   HR_CSV              path of tonight's export (columns as in authing-sync's CSV manifest)
#   AUTHING_CLIENT_ID   the user pool id;  AUTHING_SECRET  the pool secret (from your vault)
# Optional:
#   POLICY              a YAML manifest with the prune settings (default: policy.yaml beside
#                       this script): which users may be deleted, and how many at most
#   MAX_DELETES         overrides prune.max_deletes for one night (N or N%)
#   LOG_DIR             where logs go (default /var/log/authing-sync)
#   ALERT_COMMAND       run with one argument, the alert text, when the night did not go well
#                       (e.g. a script that posts to your chat or pager)
#   STATE_DIR           where the MFA cache is kept between nights (default
#                       /var/lib/authing-sync); it holds user ids and MFA switches, nothing else
#   NIGHT_HOURS         how long the night's window is (default 4): the MFA read budget is sized
#                       so that MFA reads take at most half of it at the rate (see below)
#   AUTHING_SYNC_MFA_READ_BUDGET
#                       set it to choose the budget yourself; unset, it is sized to the night
#   AUTHING_SYNC_BIN    the authing-sync binary (default: authing-sync on PATH)
#   AUTHING_ENDPOINT, AUTHING_PUBLIC_KEY, AUTHING_SYNC_RATE, AUTHING_SYNC_CONCURRENCY
#                       passed through to authing-sync
#
# Exit codes are authing-sync's: 0 applied (or nothing to do), 1 error, 3 refused by the
# deletion guard (nothing written), 4 some operations failed (the rest applied; the next night
# retries them).
#
# MFA: Authing reads MFA one user per call, so with an `mfa` column for every employee an exact
# plan costs one call per employee (100,000 employees: 2.8 hours at the default rate of 10). The
# budget reads the MFA states never seen and those the night changes (always), then the oldest
# known ones up to the budget; the rest come from the cache in STATE_DIR. An MFA switch changed
# outside authing-sync is then found within (employees / budget) nights; run once with
# `--refresh` to read them all.
#
# Example crontab line:
#   15 2 * * *  HR_CSV=/srv/hr/export.csv /opt/authing-sync/nightly-sync.sh

set -uo pipefail

: "${HR_CSV:?set HR_CSV to the path of the HR export}"
here="$(cd "$(dirname "$0")" && pwd)"
bin="${AUTHING_SYNC_BIN:-authing-sync}"
policy="${POLICY:-$here/policy.yaml}"
log_dir="${LOG_DIR:-/var/log/authing-sync}"
night="$(date +%Y-%m-%d)"

state_dir="${STATE_DIR:-/var/lib/authing-sync}"
rate="${AUTHING_SYNC_RATE:-10}"
night_hours="${NIGHT_HOURS:-4}"

alert() {
  echo "authing-sync nightly: $1" >&2
  if [ -n "${ALERT_COMMAND:-}" ]; then
    "$ALERT_COMMAND" "$1" || echo "authing-sync nightly: the alert command failed" >&2
  fi
}

# A bad setting stops the night loudly: never a sync with a budget other than the one meant.
positive_number() { [[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v n="$2" 'BEGIN { exit !(n > 0) }' ||
  { alert "$1=$2 is not a number greater than 0; nothing was run"; exit 1; }; }
positive_number NIGHT_HOURS "$night_hours"
positive_number AUTHING_SYNC_RATE "$rate"
if [ -z "${AUTHING_SYNC_MFA_READ_BUDGET:-}" ]; then
  # Half of the night's calls for MFA reads, the other half for the users pages and the writes
  # (awk: NIGHT_HOURS=1.5 and fractional rates work; at least 1, as a budget of 0 never reads a
  # cached state again).
  AUTHING_SYNC_MFA_READ_BUDGET="$(awk -v h="$night_hours" -v r="$rate" \
    'BEGIN { b = int(h * 3600 * r / 2); print (b < 1 ? 1 : b) }')"
elif ! [[ "$AUTHING_SYNC_MFA_READ_BUDGET" =~ ^[0-9]+$ ]]; then
  alert "AUTHING_SYNC_MFA_READ_BUDGET=$AUTHING_SYNC_MFA_READ_BUDGET is not a whole number; nothing was run"
  exit 1
fi
export AUTHING_SYNC_MFA_READ_BUDGET

mkdir -p "$log_dir" "$state_dir"
events="$log_dir/$night.jsonl"
plan="$log_dir/$night.plan.txt"

args=(apply -f "$HR_CSV" -f "$policy" --auto-approve --log-format json
  --cache-dir "$state_dir/cache")
if [ -n "${MAX_DELETES:-}" ]; then
  args+=(--max-deletes "$MAX_DELETES")
fi

"$bin" "${args[@]}" >"$plan" 2>>"$events"
code=$?

case "$code" in
  0) ;;
  3) alert "the deletion guard refused tonight's sync; nothing was written. Check $HR_CSV (a truncated export?) and $events" ;;
  4) alert "some operations failed tonight; the rest were applied and tomorrow's run retries them. Failures are in $events" ;;
  *) alert "the sync did not run (exit $code); see $events" ;;
esac
exit "$code"
