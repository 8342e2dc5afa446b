"""The Open Inference Protocol over gRPC (``MLPY_GRPC_PORT``, ``mlpy serve --grpc-port``).

The same data plane as the HTTP routes answers: a gRPC request becomes the protocol's JSON-shaped
body (tensors from typed ``contents`` or from ``raw_input_contents``), goes through ``parse_infer``
and ``DataPlane.infer``, and the answer goes back as raw output tensors, as Triton sends them. The
messages come from ``protos/inference.binpb`` in a descriptor pool of their own, so importing a
client's generated copy of the same protocol in this process does not clash. Credentials travel as
``authorization`` or ``x-api-key`` metadata; errors carry the gRPC code of the HTTP status they
would have.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np

from mlpy import __version__
from mlpy_server.auth import Authenticator, Permission
from mlpy_server.errors import InvalidInputError, ServerError
from mlpy_server.ids import accept_request_id
from mlpy_server.oip import metadata, run_infer
from mlpy_server.oip_binary import decode_tensor, encode_tensor

if TYPE_CHECKING:
    from mlpy_server.dataplane import DataPlane
    from mlpy_server.metrics import ServerMetrics

log = logging.getLogger("mlpy.server")

SERVICE = "inference.GRPCInferenceService"
METHODS = ("ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer")
# The typed field of InferTensorContents that carries each datatype (FP16 travels raw only).
CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
# The gRPC code for each HTTP status the server's errors carry.
CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}


@functools.cache
def messages() -> dict[str, Any]:
    """The protocol's message classes by name, from the committed descriptor set."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    raw = resources.files("mlpy_server").joinpath("protos", "inference.binpb").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for proto in descriptor_pb2.FileDescriptorSet.FromString(raw).file:
        pool.Add(proto)
    service = pool.FindServiceByName(SERVICE)
    found: dict[str, Any] = {}
    for method in service.methods:
        for kind in (method.input_type, method.output_type):
            found[kind.name] = message_factory.GetMessageClass(kind)
    return found


def parameters_of(proto: Any) -> dict[str, Any]:
    """A map<string, InferParameter> as plain values."""
    return {
        key: getattr(value, value.WhichOneof("parameter_choice") or "string_param")
        for key, value in proto.items()
    }


def request_body(request: Any) -> dict[str, Any]:
    """A ModelInferRequest as the JSON body the HTTP route takes (the same checks then apply)."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInputError(
            f"raw_input_contents holds {len(raw)} tensors for {len(request.inputs)} inputs",
            hint="send one raw entry per input, or every input in contents",
            field="raw_input_contents",
        )
    inputs = []
    for index, tensor in enumerate(request.inputs):
        where = f"inputs[{index}]"
        item: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        if raw:
            item["data"] = decode_tensor(tensor.datatype, raw[index], where)
        else:
            item["data"] = _contents(tensor.datatype, tensor.contents, where)
        inputs.append(item)
    body: dict[str, Any] = {"inputs": inputs, "parameters": parameters_of(request.parameters)}
    if request.id:
        body["id"] = request.id
    if request.outputs:
        body["outputs"] = [{"name": o.name} for o in request.outputs]
    return body


def _contents(datatype: str, contents: Any, where: str) -> Any:
    field = CONTENTS.get(datatype)
    if field is None:
        raise InvalidInputError(
            f"{where}.datatype {datatype!r} cannot be sent in contents",
            hint="send FP16 tensors in raw_input_contents",
            field=where,
        )
    values = getattr(contents, field)
    if datatype != "BYTES":
        return np.asarray(values)
    try:
        return [bytes(v).decode() for v in values]
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{where}: a BYTES element is not UTF-8 text", field=where) from exc


def infer_message(response: Mapping[str, Any]) -> Any:
    """The protocol's response body as a ModelInferResponse, every output as a raw tensor."""
    found = messages()
    message = found["ModelInferResponse"](
        model_name=response["model_name"], model_version=str(response["model_version"]), id=response["id"]
    )
    message.parameters["request_id"].string_param = response["parameters"]["request_id"]
    for output in response["outputs"]:
        message.outputs.add(name=output["name"], datatype=output["datatype"], shape=output["shape"])
        message.raw_output_contents.append(encode_tensor(output["datatype"], output["data"]))
    return message


def metadata_message(served_metadata: Mapping[str, Any]) -> Any:
    found = messages()
    message = found["ModelMetadataResponse"](
        name=served_metadata["name"],
        versions=[str(v) for v in served_metadata["versions"]],
        platform=served_metadata["platform"],
    )
    for kind in ("inputs", "outputs"):
        for tensor in served_metadata[kind]:
            getattr(message, kind).add(
                name=tensor["name"], datatype=tensor["datatype"], shape=tensor["shape"]
            )
    return message


# A call of the service: the request, its context, and the [name, version] labels it fills in.
Call = Callable[[Any, Any, list[str]], Awaitable[Any]]


class InferenceService:
    """The six calls of GRPCInferenceService on one server process's data plane."""

    def __init__(
        self,
        plane: DataPlane,
        auth: Authenticator,
        metrics: ServerMetrics,
        ready: Callable[[], tuple[bool, str]],
    ) -> None:
        self.plane, self.auth, self.metrics, self.ready = plane, auth, metrics, ready

    def handler(self) -> grpc.GenericRpcHandler:
        found = messages()
        calls: dict[str, Call] = {
            "ServerLive": self.server_live,
            "ServerReady": self.server_ready,
            "ModelReady": self.model_ready,
            "ServerMetadata": self.server_metadata,
            "ModelMetadata": self.model_metadata,
            "ModelInfer": self.model_infer,
        }
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(
                self._guarded(name, call),
                request_deserializer=found[f"{name}Request"].FromString,
                response_serializer=found[f"{name}Response"].SerializeToString,
            )
            for name, call in calls.items()
        }
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _guarded(self, name: str, call: Call) -> Callable[..., Awaitable[Any]]:
        """Count the call in the request metrics and turn the server's errors into gRPC statuses. The
        model labels are the loaded model's, once the call found one (never a name the caller made up)."""
        endpoint = f"/{SERVICE}/{name}"

        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            model = ["", ""]
            try:
                answer = await call(request, context, model)
            except ServerError as exc:
                self.metrics.error(endpoint, (model[0], model[1]), exc.code)
                self.metrics.observe(
                    endpoint, (model[0], model[1]), exc.status, time.perf_counter() - started
                )
                await context.abort(CODES.get(exc.status, grpc.StatusCode.INTERNAL), str(exc))
                raise  # abort raises; this keeps the flow plain
            except Exception:
                log.exception("gRPC %s failed", name)
                self.metrics.observe(endpoint, (model[0], model[1]), 500, time.perf_counter() - started)
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"{name} failed on the server; its log says why"
                )
                raise
            self.metrics.observe(endpoint, (model[0], model[1]), 200, time.perf_counter() - started)
            return answer

        return run

    def _check(self, context: grpc.aio.ServicerContext, permission: Permission) -> dict[str, str | None]:
        """The caller allowed, or a 401/403 as a gRPC status; the call's metadata, keys lowercased."""
        sent = {key.lower(): _text(value) for key, value in context.invocation_metadata() or ()}
        self.auth.require(permission, sent.get("authorization"), sent.get("x-api-key"))
        return sent

    async def server_live(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        return messages()["ServerLiveResponse"](live=True)

    async def server_ready(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        return messages()["ServerReadyResponse"](ready=self.ready()[0])

    async def model_ready(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        self._check(context, Permission.read)
        try:
            served = self.plane.model_version(request.name, request.version or None)
        except ServerError:
            return messages()["ModelReadyResponse"](ready=False)
        model[:] = [served.name, served.version]
        return messages()["ModelReadyResponse"](ready=True)

    async def server_metadata(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        return messages()["ServerMetadataResponse"](
            name="mlpy", version=__version__, extensions=["binary_tensor_data"]
        )

    async def model_metadata(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        self._check(context, Permission.read)
        served = self.plane.model_version(request.name, request.version or None)
        model[:] = [served.name, served.version]
        return metadata_message(metadata(served))

    async def model_infer(self, request: Any, context: grpc.aio.ServicerContext, model: list[str]) -> Any:
        started = time.perf_counter()
        sent = self._check(context, Permission.predict)
        served = self.plane.model_version(request.model_name, request.model_version or None)
        model[:] = [served.name, served.version]
        _, response = await run_infer(
            self.plane,
            served,
            request_body(request),
            request_id=accept_request_id(sent.get("x-request-id")),
            started=started,
            variant=None,
        )
        return infer_message(response)


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class GrpcEndpoint:
    """The gRPC server of one process, on the event loop the HTTP server runs on. Several workers
    share the port (gRPC sets SO_REUSEPORT), as they share the HTTP one."""

    def __init__(self, service: InferenceService, address: str, max_message_bytes: int) -> None:
        self.address = address
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        self._server = grpc.aio.server(options=options)
        self._server.add_generic_rpc_handlers((service.handler(),))

    async def start(self) -> int:
        """Bind and serve; the port bound (the one asked for, or a free one for port 0)."""
        port = self._server.add_insecure_port(self.address)
        if port == 0:
            raise OSError(
                f"cannot listen for gRPC on {self.address}: the address is taken or not this machine's"
            )
        await self._server.start()
        log.info(
            "gRPC (Open Inference Protocol) listening on %s", self.address.rsplit(":", 1)[0] + f":{port}"
        )
        return int(port)

    async def stop(self, grace_s: float = 5.0) -> None:
        await self._server.stop(grace_s)
