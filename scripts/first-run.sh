#!/usr/bin/env bash
# Times the README's two commands from a fresh clone (issue 16, "a faster first run"):
# clones this checkout's HEAD into a temporary folder, then times `cargo run -p pbi-cli --
# demo` and `cargo test` one after the other, each as a whole process. Crates.io sources are
# taken from ~/.cargo as they are (no download time is measured). Run it on an idle machine.
set -euo pipefail
source_dir=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
clone=$(mktemp -d "${TMPDIR:-/tmp}/pbi-first-run.XXXXXX")
trap 'rm -rf "$clone"' EXIT
git clone --quiet "$source_dir" "$clone"
cd "$clone"
echo "fresh clone of $(git rev-parse --short HEAD) in $clone; $(nproc) cores"
start=$(date +%s)
cargo run -p pbi-cli -- demo > demo.log 2>&1 || { tail -30 demo.log; exit 1; }
demo_done=$(date +%s)
grep -q "Demo passed" demo.log || { tail -30 demo.log; exit 1; }
cargo test > test.log 2>&1 || { grep -E "FAILED|panicked|error" test.log | head -30; exit 1; }
tests_done=$(date +%s)
built=$(grep -o "Finished .* in [0-9ms. ]*" test.log | head -1)
fmt() { printf '%d min %d s' $(($1 / 60)) $(($1 % 60)); }
echo "fresh clone -> the demo's output: $(fmt $((demo_done - start)))"
echo "then cargo test:                  $(fmt $((tests_done - demo_done))) ($built)"
echo "both commands:                    $(fmt $((tests_done - start)))"
