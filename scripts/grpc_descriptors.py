"""Compile server/mlpy_server/protos/inference.proto into the descriptor set the server loads.

The server needs no protoc and no generated modules: it reads ``inference.binpb`` (a serialized
FileDescriptorSet) into a descriptor pool of its own. ``--check`` fails when the committed set no
longer matches the .proto (the test suite runs it). Needs grpcio-tools (the dev extra).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTOS = REPO / "server" / "mlpy_server" / "protos"
SOURCE = PROTOS / "inference.proto"
TARGET = PROTOS / "inference.binpb"


def compile_descriptors() -> bytes:
    """The FileDescriptorSet of inference.proto, without source positions (stable across protoc)."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "set.binpb"
        code = protoc.main(["protoc", f"-I{PROTOS}", f"--descriptor_set_out={out}", SOURCE.name])
        if code != 0:
            raise SystemExit(f"protoc failed on {SOURCE.relative_to(REPO)} (exit {code})")
        descriptors = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return bytes(descriptors.SerializeToString(deterministic=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that inference.binpb is current")
    args = parser.parse_args(argv)
    compiled = compile_descriptors()
    if not args.check:
        TARGET.write_bytes(compiled)
        return 0
    if TARGET.exists() and TARGET.read_bytes() == compiled:
        return 0
    stale = TARGET.relative_to(REPO)
    print(f"{stale} is out of date: run python scripts/grpc_descriptors.py", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
