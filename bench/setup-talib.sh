#!/usr/bin/env bash
# Builds bench/.talib/talib-bench: TA-Lib's C functions (the sources the npm package `talib` 2.0.5
# ships, TA-Lib 0.6) compiled with gcc and linked to bench/talib/driver.c, so `npm run bench --
# indicators` can time C on the same bars in the same run. Bench-only: nothing here is a runtime or
# root dependency, and everything it writes stays in bench/.talib (gitignored).
#
# npm's own install of `talib` is not used: its install script fails here (the tarball ships stale
# object files, "archive has no index"), and a Node binding would add copying to the C time.
# Needs gcc and npm; prints the path of the binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/.talib"
bin="$dir/talib-bench"
lib="$dir/package/src/lib"
flags=(-O3 -fno-strict-aliasing)

if [[ -x "$bin" && "$bin" -nt "$here/talib/driver.c" && "$bin" -nt "$0" ]]; then
  echo "$bin"
  exit 0
fi
command -v gcc >/dev/null || { echo "setup-talib: gcc not found (apt-get install -y gcc)" >&2; exit 1; }
mkdir -p "$dir"
if [[ ! -d "$lib/src/ta_func" ]]; then
  (cd "$dir" && npm pack talib@2.0.5 --silent >/dev/null && tar xzf talib-2.0.5.tgz)
fi
obj="$dir/obj"
# The library is compiled once (≈ 170 files); a changed driver is only relinked.
if [[ ! -f "$obj/.done" || "$0" -nt "$obj/.done" ]]; then
  rm -rf "$obj"
  mkdir -p "$obj"
  # Sources only: the tarball's prebuilt objects are what broke its own install.
  jobs="$(nproc 2>/dev/null || echo 2)"
  (cd "$obj" && ls "$lib"/src/ta_func/*.c "$lib/src/ta_common/ta_global.c" "$lib/src/ta_common/ta_version.c" |
    xargs -P "$jobs" -n 16 gcc "${flags[@]}" -c -I"$lib/include" -I"$lib/src/ta_common")
  touch "$obj/.done"
fi
gcc "${flags[@]}" -I"$lib/include" -o "$bin.tmp" "$here/talib/driver.c" "$obj"/*.o -lm
mv "$bin.tmp" "$bin"
echo "$bin"
