#!/usr/bin/env bash
# Fuzz the reader with libFuzzer for FUZZ_SECONDS (default 300), starting from
# the regression corpus; new inputs that add coverage are merged back into it.
# Needs clang with libFuzzer (Debian: clang libclang-rt-14-dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${FUZZ_SECONDS:-300}"
out="$(mktemp -d)"
clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -o "$out/fuzz_reader" "$here/fuzz_reader.c" $(ls "$here"/../src/*.c | grep -v -e api.c -e attach.c -e sampler.c -e threadstat.c -e threadnames.c) -pthread
mkdir -p "$out/new"
"$out/fuzz_reader" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=5 -max_len=131072 \
  -print_final_stats=1 "$out/new" "$here/corpus" 2>&1 | tee "$out/log" | grep -E '^(#[0-9]+.*(pulse|DONE)|stat::|==)' || true
# Keep the corpus small: only inputs that add coverage.
"$out/fuzz_reader" -merge=1 "$here/corpus" "$out/new" >/dev/null 2>&1 || true
grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$out/log" || true
if grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' "$out/log"; then
  echo "fuzz: crash found; reproducer in $out"; exit 1
fi
echo "fuzz: ${secs}s, no crash"
