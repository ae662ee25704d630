#!/usr/bin/env bash
# Simulated verification job for the demo: sleeps a random time and passes with a given rate.
#   SIM_MIN_SECONDS / SIM_MAX_SECONDS  duration range (default 3..8)
#   SIM_PASS_PERCENT                   chance of success (default 90)
#   SIM_FLAKY=1                        the first attempt (BUILD_ID without a retry suffix) fails
set -u
min=${SIM_MIN_SECONDS:-3}
max=${SIM_MAX_SECONDS:-8}
pass=${SIM_PASS_PERCENT:-90}
echo "job ${JOB_NAME} (run ${BUILD_ID})"
echo "payload ${PAYLOAD_TAG} of ${RELEASE_STREAM}: ${RELEASE_IMAGE_LATEST}"
if [ -n "${RELEASE_IMAGE_INITIAL:-}" ]; then echo "upgrading from ${RELEASE_IMAGE_INITIAL}"; fi
span=$(( max - min + 1 ))
secs=$(( min + RANDOM % span ))
for i in $(seq 1 "$secs"); do
  echo "step $i/$secs: running tests..."
  sleep 1
done
if [ "${SIM_FLAKY:-0}" = "1" ] && ! [[ "${BUILD_ID}" =~ -[0-9]+$ ]]; then
  echo "flaky failure on the first attempt"
  exit 1
fi
if (( RANDOM % 100 < pass )); then
  echo "PASS"
  exit 0
fi
echo "FAIL: simulated test failures"
exit 1
