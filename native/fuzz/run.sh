#!/usr/bin/env bash
# Fuzz the reader with libFuzzer for FUZZ_SECONDS (default 300), starting from
# the regression corpus; new inputs that add coverage are merged back into it.
# Needs clang with libFuzzer (Debian: clang libclang-rt-14-dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${FUZZ_SECONDS:-300}"
out="$(mktemp -d)"
hint="install clang with libFuzzer first (Debian/Ubuntu: apt-get install -y clang libclang-rt-14-dev; or set CC to a clang that has -fsanitize=fuzzer)"
cc="${CC:-clang}"
if ! command -v "$cc" >/dev/null 2>&1; then echo "fuzz: $cc not found; $hint" >&2; exit 2; fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
  "$cc" -x c -fsanitize=fuzzer -o "$out/probe" - >/dev/null 2>&1; then
  echo "fuzz: $cc cannot build with -fsanitize=fuzzer (libFuzzer runtime missing); $hint" >&2; exit 2
fi
# The reader core: everything that parses target memory, nothing that needs /proc or a live process.
core=$(ls "$here"/../src/*.c | grep -v -e /api.c -e asyncio_api.c -e attach.c -e sampler.c -e threadstat.c)
"$cc" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -o "$out/fuzz_reader" "$here/fuzz_reader.c" $core -pthread
# Seeds: the unit tests' images (every built-in row, every _Py_DebugOffsets build, broken chains, thread names).
mkdir -p "$out/new" "$out/seeds"
for t in test_walker test_threadnames; do
  "$cc" -std=gnu11 -O1 -o "$out/$t" "$here/../test/$t.c" $core -pthread &&
    "$out/$t" --write-seeds "$out/seeds" >/dev/null || echo "fuzz: $t seeds not written" >&2
done
# One input takes milliseconds; the generous timeout is for a loaded 2-core machine, where 5 s stalls were seen.
"$out/fuzz_reader" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=30 -max_len=131072 \
  -print_final_stats=1 -artifact_prefix="$out/" "$out/new" "$here/corpus" "$out/seeds" 2>&1 | tee "$out/log" |
  grep -E '^(#[0-9]+.*(pulse|DONE)|stat::|==)' || true
# Keep the corpus small: re-minimise old and new inputs together to a set with the same coverage.
mkdir -p "$out/min"
if "$out/fuzz_reader" -merge=1 -rss_limit_mb=1024 -timeout=30 "$out/min" "$here/corpus" "$out/seeds" "$out/new" >"$out/merge.log" 2>&1 &&
  [ -n "$(ls "$out/min")" ]; then
  # Hand-made regression inputs (regress-*) stay whatever their coverage.
  mkdir -p "$out/keep" && cp "$here"/corpus/regress-* "$out/keep/" 2>/dev/null || true
  rm -f "$here"/corpus/*
  cp "$out"/min/* "$here/corpus/"
  cp "$out"/keep/* "$here/corpus/" 2>/dev/null || true
fi
echo "fuzz: corpus now $(ls "$here/corpus" | wc -l) inputs, $(du -sh "$here/corpus" | cut -f1)"
grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$out/log" || true
if grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' "$out/log"; then
  echo "fuzz: crash found; reproducer in $out"; exit 1
fi
echo "fuzz: ${secs}s, no crash"
