#!/usr/bin/env bash
# Regenerates Sources/RankEdgeONNX/Generated/onnx.pb.swift. Run it only when moving to a newer ONNX
# schema: the generated file is committed, so building RankEdge never needs protoc.
#
# What it does, step by step:
#  1. makes onnx.proto3 from the onnx.in.proto that the pip onnx package ships, with that package's own
#     gen_proto.translate (the same tool ONNX uses to produce the onnx.proto3 in its repository;
#     the wheel ships onnx.in.proto and onnx.proto but not onnx.proto3 itself);
#  2. builds protoc-gen-swift from swift-protobuf 1.39.0 (the version Package.swift depends on) in a
#     scratch directory outside the repository;
#  3. runs protoc with that plugin, internal visibility (the generated types are an implementation
#     detail of RankEdgeONNX; its public API speaks RankEdge's Graph).
#
# Needs: python3 with onnx, protoc (Debian: protobuf-compiler), swift, git.
# Usage: tools/regenerate_onnx_proto.sh [SWIFT_PROTOBUF_GIT]   (default: the local mirror, else GitHub)
#        PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift tools/regenerate_onnx_proto.sh   (skip step 2; it must be 1.39.0)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/Sources/RankEdgeONNX/Generated"
src=${1:-/opt/swift-packages/apple/swift-protobuf.git}
[ -e "$src" ] || src=https://github.com/apple/swift-protobuf
work=$(mktemp -d /tmp/onnx-proto.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. onnx.proto3 (package "onnx", without the ONNX-ML extensions).
python3 - "$work/onnx.proto3" <<'EOF'
import os, sys
import onnx
from onnx import gen_proto
here = os.path.dirname(onnx.__file__)
with open(os.path.join(here, "onnx.in.proto"), encoding="utf-8") as f:
    text = gen_proto.translate(f.read(), proto=3, onnx_ml=False, package_name="onnx")
with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
    f.write(text.replace("\r\n", "\n") + "\n")
print(f"onnx {onnx.__version__}: wrote {sys.argv[1]}")
EOF

# 2. protoc-gen-swift 1.39.0.
plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
    git clone -q "$src" "$work/swift-protobuf"
    git -C "$work/swift-protobuf" checkout -q 1.39.0
    (cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift)
    plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
fi

# 3. Generate. protoc names the output after the input: onnx.proto3 -> onnx.pb.swift.
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
       --swift_opt=Visibility=Internal \
       --swift_out="$out" \
       -I "$work" "$work/onnx.proto3"
ls -l "$out"
