#!/usr/bin/env bash
# The README's offline walkthrough with the real AWS CLI v2: start `saga local`, run a trip and a rollback with
# `aws stepfunctions`, check the bookings with `aws dynamodb get-item`, run each trip again under another name (the
# bookings stay with the execution that made them), stop the server. Prints "walkthrough ok".
# Usage: AWS=<path to aws v2> test/cli/aws-cli-walkthrough.sh   (run through npm, so that node is Node 22)
# The states and tables come from the step list, as test/cli/aws-cli.test.ts passes them in (the test reads saga.ts):
# TABLES (every step's, space-separated), ROLLBACK_FAIL (an action that fails), CANCELLED_TABLES (those of the steps
# its rollback compensates), UNTOUCHED_TABLES (those of the steps it never reaches: may be none) and LAST_ACTION.
set -euo pipefail
AWS=${AWS:-aws}
: "${TABLES:?}" "${ROLLBACK_FAIL:?}" "${CANCELLED_TABLES:?}" "${UNTOUCHED_TABLES?}" "${LAST_ACTION:?}"
cd "$(dirname "$0")/../.."

log=$(mktemp)
scratch=$(mktemp -d)
node bin/saga.js local --port 0 --dynamodb-port 0 >"$log" 2>&1 &
server=$!
stop() {
  kill -INT "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$log" "$scratch"
}
trap stop EXIT
for _ in $(seq 200); do grep -q 'Ctrl-C' "$log" && break; sleep 0.05; done
sfn=$(sed -n 's/^  Step Functions \(http[^ ]*\).*/\1/p' "$log")
dynamodb=$(sed -n 's/^  DynamoDB *\(http[^ ]*\).*/\1/p' "$log")
machine=$(sed -n 's/^  State machine *\(arn[^ ]*\).*/\1/p' "$log")
alias=$(sed -n 's/^  Alias *\(arn[^ ]*\).*/\1/p' "$log")
[ -n "$sfn" ] && [ -n "$dynamodb" ] && [ -n "$machine" ] && [ "$alias" = "$machine:live" ] || { cat "$log"; echo "saga local did not start" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_PAGER=""

# run_trip NAME FILE: starts an execution and waits for it to end; prints its status and error.
run_trip() {
  local arn outcome
  # Through the alias, as on a deployed stack (its stateMachineAliasArn output).
  arn=$("$AWS" stepfunctions start-execution --endpoint-url "$sfn" --state-machine-arn "$alias" \
    --name "$1" --input "file://$2" --query executionArn --output text)
  # Each call of the CLI costs most of a second (Python starting): the status and error are read in one.
  for _ in $(seq 200); do
    outcome=$("$AWS" stepfunctions describe-execution --endpoint-url "$sfn" --execution-arn "$arn" --query '[status,error]' --output text)
    [ "$(echo "$outcome" | cut -f1)" != RUNNING ] && break
    sleep 0.05
  done
  echo "$outcome"
}

# booking TABLE TRIP_ID [ATTRIBUTE...]: the status (or the attributes named) of the trip's item in the table, each
# None when absent, separated by tabs.
booking() {
  local table=$1 trip_id=$2 attributes
  shift 2
  attributes=$(printf 'Item.%s.S,' "${@:-status}")
  "$AWS" dynamodb get-item --endpoint-url "$dynamodb" --table-name "$table" \
    --key "{\"trip_id\": {\"S\": \"$trip_id\"}}" --query "[${attributes%,}]" --output text
}

# with_fail FILE STATE...: the trip in FILE with its fail list replaced (none when no STATE is given), as a new file.
with_fail() {
  local file
  file=$(mktemp --tmpdir="$scratch" --suffix .json)
  node -e 'const [file, ...fail] = process.argv.slice(1); const trip = JSON.parse(require("fs").readFileSync(file, "utf8"));
    if (fail.length) trip.fail = fail; else delete trip.fail; console.log(JSON.stringify(trip));' "$@" >"$file"
  echo "$file"
}

happy=$(run_trip 5c12d94a-ee6a-40d9-889b-1d49142248b7 examples/trip.json)
[ "$(echo "$happy" | cut -f1)" = SUCCEEDED ] || { echo "happy path: $happy" >&2; exit 1; }
for table in $TABLES; do
  [ "$(booking $table 5c12d94a-ee6a-40d9-889b-1d49142248b7)" = BOOKED ] || { echo "$table: not booked" >&2; exit 1; }
done

# The other example trip (its own trip_id), failing where the test says: what it reached is undone, the steps after
# it never reached.
failing=$(with_fail examples/trip-fail-flight.json "$ROLLBACK_FAIL")
rollback=$(run_trip 7f1d2c3b-0a9e-4c5d-8b7a-6e5f4d3c2b1a "$failing")
[ "$rollback" = "$(printf 'FAILED\tSagaRolledBack')" ] || { echo "rollback: $rollback" >&2; exit 1; }
for table in $CANCELLED_TABLES; do
  [ "$(booking $table 7f1d2c3b-0a9e-4c5d-8b7a-6e5f4d3c2b1a)" = CANCELLED ] || { echo "$table: not cancelled" >&2; exit 1; }
done
for table in $UNTOUCHED_TABLES; do
  [ "$(booking $table 7f1d2c3b-0a9e-4c5d-8b7a-6e5f4d3c2b1a)" = None ] || { echo "$table: written" >&2; exit 1; }
done

# Bookings belong to the execution that made them. The booked trip again, under another name, with the last action
# failing: it rolls back, and the first execution's bookings stay, still its own.
again=$(run_trip trip-again "$(with_fail examples/trip.json "$LAST_ACTION")")
[ "$again" = "$(printf 'FAILED\tSagaRolledBack')" ] || { echo "second execution of a booked trip: $again" >&2; exit 1; }
for table in $TABLES; do
  owned=$(booking $table 5c12d94a-ee6a-40d9-889b-1d49142248b7 status execution)
  [ "$(echo "$owned" | cut -f1)" = BOOKED ] || { echo "$table lost the first booking: $owned" >&2; exit 1; }
  [ "$(echo "$owned" | cut -f2)" = "${machine/:stateMachine:/:execution:}:5c12d94a-ee6a-40d9-889b-1d49142248b7" ] ||
    { echo "$table: the booking changed hands: $owned" >&2; exit 1; }
done
# The rolled-back trip again, under another name and without a fault: it is booked.
rebooked=$(run_trip trip-rebooked "$(with_fail examples/trip-fail-flight.json)")
[ "$(echo "$rebooked" | cut -f1)" = SUCCEEDED ] || { echo "rebooking a rolled-back trip: $rebooked" >&2; exit 1; }
for table in $TABLES; do
  [ "$(booking $table 7f1d2c3b-0a9e-4c5d-8b7a-6e5f4d3c2b1a)" = BOOKED ] || { echo "$table: rolled-back trip not booked again" >&2; exit 1; }
done

# The same name again is refused, as by Step Functions.
if "$AWS" stepfunctions start-execution --endpoint-url "$sfn" --state-machine-arn "$machine" \
  --name 5c12d94a-ee6a-40d9-889b-1d49142248b7 --input file://examples/trip.json 2>/dev/null; then
  echo "a reused name was accepted" >&2
  exit 1
fi
echo "walkthrough ok"
