"""The Open Inference Protocol's binary tensor data extension, as Triton and KServe clients send it.

A request whose ``Inference-Header-Content-Length`` header says N is N bytes of JSON followed by the
raw tensors: each input whose ``parameters.binary_data_size`` is set has no ``data`` and takes that
many bytes, in the order of the inputs (little-endian, row-major; BYTES elements each prefixed with
their 4-byte length). An output asked for with ``parameters.binary_data`` (or every output, with the
request's ``parameters.binary_data_output``) comes back the same way.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson

from mlpy_server.errors import InvalidInputError, MalformedRequestError

HEADER = "inference-header-content-length"
DTYPES = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_LENGTH = struct.Struct("<I")


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary part of a request (all JSON when the header is absent)."""
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        length = -1
    if not 0 <= length <= len(body):
        raise MalformedRequestError(
            f"Inference-Header-Content-Length {header_length!r} is not a length within the body's "
            f"{len(body)} bytes",
            hint="send the byte length of the JSON header that starts the body",
        )
    return body[:length], body[length:]


def attach_binary(data: Any, blob: bytes) -> None:
    """Decode each input's binary data into an array in its ``data`` field (the JSON path then
    checks shape, type and values as for any request)."""
    inputs = data.get("inputs") if isinstance(data, dict) else None
    offset = 0
    for index, raw in enumerate(inputs if isinstance(inputs, list) else []):
        parameters = raw.get("parameters") if isinstance(raw, dict) else None
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is None:
            continue
        where = f"inputs[{index}]"
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInputError(
                f"{where}.parameters.binary_data_size must be a non-negative integer",
                field=f"{where}.parameters",
            )
        if offset + size > len(blob):
            raise InvalidInputError(
                f"{where} needs {size} bytes of binary data but only {len(blob) - offset} remain",
                field=f"{where}.parameters",
            )
        if "data" in raw:
            raise InvalidInputError(f"{where} has both data and binary_data_size", field=f"{where}.data")
        raw["data"] = decode_tensor(raw.get("datatype"), blob[offset : offset + size], where)
        offset += size
    if offset != len(blob):
        raise InvalidInputError(
            f"the body holds {len(blob) - offset} bytes of binary data that no input claims",
            hint="set parameters.binary_data_size on each input sent as binary",
            field="inputs",
        )


def decode_tensor(datatype: Any, chunk: bytes, where: str) -> np.ndarray:
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(chunk):
            if offset + 4 > len(chunk):
                raise InvalidInputError(f"{where}: a BYTES element's length is cut short", field=where)
            (length,) = _LENGTH.unpack_from(chunk, offset)
            offset += 4
            if offset + length > len(chunk):
                raise InvalidInputError(f"{where}: a BYTES element runs past its data", field=where)
            try:
                values.append(chunk[offset : offset + length].decode())
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"{where}: a BYTES element is not UTF-8 text", field=where) from exc
            offset += length
        return np.asarray(values, dtype=str)
    dtype = DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise InvalidInputError(f"{where}.datatype {datatype!r} cannot be sent as binary", field=where)
    if len(chunk) % dtype.itemsize:
        raise InvalidInputError(
            f"{where}: {len(chunk)} bytes is not a whole number of {datatype} values", field=where
        )
    return np.frombuffer(chunk, dtype=dtype)


def binary_outputs(data: Mapping[str, Any], names: Iterable[str]) -> frozenset[str]:
    """The outputs the client wants as binary: each asked for with ``binary_data``, or all of them
    with the request's ``binary_data_output``."""
    request = data.get("parameters")
    if isinstance(request, dict) and request.get("binary_data_output") is True:
        return frozenset(names)
    wanted = set()
    for item in data.get("outputs") or []:
        parameters = item.get("parameters") if isinstance(item, dict) else None
        if isinstance(parameters, dict) and parameters.get("binary_data") is True:
            wanted.add(str(item.get("name")))
    return frozenset(wanted)


def encode(response: dict[str, Any], binary: frozenset[str]) -> tuple[bytes, dict[str, str]]:
    """The response body with the ``binary`` outputs' data moved after the JSON, and its headers."""
    blobs: list[bytes] = []
    for output in response["outputs"]:
        if output["name"] not in binary:
            continue
        data = output.pop("data")
        blob = encode_tensor(output["datatype"], data)
        output["parameters"] = {**output.get("parameters", {}), "binary_data_size": len(blob)}
        blobs.append(blob)
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    return header + b"".join(blobs), {HEADER: str(len(header))}


def encode_tensor(datatype: str, data: Any) -> bytes:
    if datatype == "BYTES":
        parts = []
        for value in data:
            raw = str(value).encode()
            parts.append(_LENGTH.pack(len(raw)) + raw)
        return b"".join(parts)
    return np.ascontiguousarray(np.asarray(data), dtype=DTYPES[datatype]).tobytes()
