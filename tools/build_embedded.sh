#!/usr/bin/env bash
# Builds the runtime (Sources/RankEdge + the C kernels) as Embedded Swift into one static library,
# librankedge.a, with the C API of include/rankedge.h: no Swift runtime to install, for boards.
#
#   tools/build_embedded.sh aarch64 [OUT_DIR]   # aarch64 Linux (glibc), needs gcc-aarch64-linux-gnu
#   tools/build_embedded.sh x86_64  [OUT_DIR]   # this machine, as a check
#
# OUT_DIR (default .build/embedded/ARCH) receives librankedge.a and rankedge.h: the Swift object
# holds what the C API's functions reach, and of the toolchain's Unicode tables only the
# normalization ones String comparison needs (docs/BENCHMARKS.md, sizes). Link a C program
# with the toolchain's clang and ld.lld (GNU ld refuses a copy relocation in the Swift object);
# every function has its own section, so --gc-sections keeps only what the program reaches:
#   clang --target=aarch64-linux-gnu --gcc-toolchain=/usr -fuse-ld=lld -static -Wl,--gc-sections \
#       app.c librankedge.a -lm -lpthread
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:?usage: build_embedded.sh aarch64|x86_64 [OUT_DIR]}"
out="${2:-$root/.build/embedded/$arch}"
bin="$(dirname "$(command -v swiftc)")"
CLANG="$bin/clang"

case "$arch" in
  aarch64)
    # The toolchain ships Embedded Swift's standard library for aarch64-none-none-elf only; the
    # code is the same for aarch64 Linux, and the C headers come from Debian's aarch64 glibc.
    sysroot="${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}"
    [ -d "$sysroot/include" ] || { echo "build_embedded: $sysroot/include not found (apt-get install gcc-aarch64-linux-gnu, or run tools/setup.sh test)" >&2; exit 1; }
    swift_target=aarch64-none-none-elf
    swift_cc=(-Xcc "--sysroot=$sysroot" -Xcc -D__linux__ -Xcc -D_GNU_SOURCE)
    c_target=(--target=aarch64-linux-gnu --sysroot="$sysroot")
    ;;
  x86_64)
    swift_target=x86_64-unknown-linux-gnu
    # glibc keeps x86-64's stack canary in TLS and exports no __stack_chk_guard for Swift's
    # stack protector to read; aarch64 glibc does.
    swift_cc=(-Xfrontend -disable-stack-protector -Xcc -D_GNU_SOURCE)
    c_target=(--target=x86_64-linux-gnu)
    ;;
  *) echo "build_embedded: unknown arch '$arch' (aarch64 or x86_64)" >&2; exit 1 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/modules/CRankEdgeKernels" "$work/obj"
# SwiftPM makes the C target's module map; the embedded build names the same headers.
cat > "$work/modules/CRankEdgeKernels/module.modulemap" <<MAP
module CRankEdgeKernels {
  umbrella "$root/Sources/CRankEdgeKernels/include"
  export *
}
MAP

# One whole-module compile of the runtime, the Embedded-only shims and the C API.
"$bin/swiftc" -target "$swift_target" -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -wmo -parse-as-library -Osize -module-name RankEdge -Xfrontend -function-sections \
    -I "$work/modules/CRankEdgeKernels" -I "$root/embedded/CRankEdgeSystem" "${swift_cc[@]}" \
    -c $(find "$root/Sources/RankEdge" -name '*.swift' | sort) "$root"/embedded/*.swift \
    -o "$work/swift_all.o"

# Only what the C API reaches: a C program can call nothing else (no Swift module ships with the
# library), so lld's relocatable link drops the rest of the whole-module object (the writers, the
# encoders, public Swift API no C entry point uses), section by section from the entry points.
grep -o 'rankedge_[a-z_0-9]*(' "$root/include/rankedge.h" | tr -d '(' | sort -u | sed 's/^/-u /' >"$work/roots"
# shellcheck disable=SC2046
"$bin/ld.lld" -r --gc-sections $(cat "$work/roots") "$work/swift_all.o" -o "$work/obj/rankedge_swift.o"

# The C kernels exactly as SwiftPM builds them (ISA flags come from target attributes in source),
# and the C the Embedded standard library expects of its host.
for c in "$root"/Sources/CRankEdgeKernels/*.c "$root"/embedded/CRankEdgeSystem/*.c; do
  "$CLANG" "${c_target[@]}" -std=c11 -O2 -ffunction-sections -fdata-sections \
      -I "$root/Sources/CRankEdgeKernels/include" -I "$root/Sources/CRankEdgeKernels" \
      -c "$c" -o "$work/obj/$(basename "${c%.c}").o"
done

# String comparison and hashing in Embedded Swift read Unicode normalization tables from a library
# of the toolchain's. Its objects that the runtime needs (only those: the runtime parses its own
# text byte-wise, so the case-mapping, grapheme and scalar-property tables, 0.7 MB, stay out) go
# into librankedge.a, so a board links one library.
tables="$bin/../lib/swift/embedded/$swift_target/libswiftUnicodeDataTables.a"
mkdir -p "$work/tables" && (cd "$work/tables" && "$bin/llvm-ar" x "$tables" 2>/dev/null || ar x "$tables")
NM="$bin/llvm-nm"; [ -x "$NM" ] || NM=nm
"$NM" --undefined-only --format=just-symbols "$work"/obj/*.o | sort -u >"$work/needed"
changed=1
while [ "$changed" = 1 ]; do
  changed=0
  for t in "$work"/tables/*.o; do
    [ -e "$t" ] || continue
    if "$NM" --defined-only --format=just-symbols "$t" | sort -u | comm -12 - "$work/needed" | grep -q .; then
      mv "$t" "$work/obj/unicode_$(basename "$t")"
      "$NM" --undefined-only --format=just-symbols "$work/obj/unicode_$(basename "$t")" | sort -u - "$work/needed" -o "$work/needed"
      changed=1
    fi
  done
done
rm -f "$out/librankedge.a"
AR="$bin/llvm-ar"; [ -x "$AR" ] || AR=ar
"$AR" rcs "$out/librankedge.a" "$work"/obj/*.o
[ -f "$root/include/rankedge.h" ] && cp "$root/include/rankedge.h" "$out/"
echo "$out/librankedge.a"
