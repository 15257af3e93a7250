#!/bin/sh
# run-fuzz.sh EXE SEED_DIR SECONDS WORK_DIR
# Runs a libFuzzer target for SECONDS, writing new inputs to WORK_DIR (never into
# the source tree's seed corpus). Crashes are saved in WORK_DIR too.
# -error_exitcode=1: libFuzzer reports a crash with 77 by default, which meson
# would count as a skip.
set -eu
exe=$1 seeds=$2 seconds=$3 work=$4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -error_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
