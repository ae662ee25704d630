#!/usr/bin/env bash
# Simulated aggregator: passes when at least 60 % of the analysis runs succeeded (upstream's rule).
set -u
total=${ANALYSIS_JOB_COUNT:-0}
ok=${ANALYSIS_JOBS_SUCCEEDED:-0}
echo "aggregating ${VERIFICATION_JOB_NAME:-?} for ${PAYLOAD_TAG:-?}: ${ok}/${total} analysis runs succeeded"
sleep 1
if (( total > 0 && ok * 100 >= total * 60 )); then echo "PASS"; exit 0; fi
echo "FAIL: fewer than 60% of the analysis runs succeeded"; exit 1
