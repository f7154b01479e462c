"""Official vendor Python SDKs vs the datastudio-gateway Python stub, from one process.

For each case the same logical read is made two ways, each as a loop of
sequential calls in this one Python process:

* ``sdk``: the vendor's official Python SDK calling the vendor emulator directly
  (Alibaba ``alibabacloud-dataworks-public20240518``, Huawei
  ``huaweicloudsdkdataartsstudio`` v1), signed with the emulator's demo keys;
* ``gateway``: the generated stub ``datastudio.v1`` (``clients/python``) calling
  the gateway over plaintext gRPC; the gateway then calls the same emulator.

Cases: ``alibaba.list_release_packages`` (ListDeploymentPackages, 100 per page),
``alibaba.get_file_version`` (GetFileVersion of an existing version, with its
content) and ``huawei.list_release_packages`` (POST .../release-packages,
limit 100).

Each path gets a warm-up of ``--warmup`` calls (not measured), then calls for
``--seconds``. Per path it reports ``calls`` (timed calls made), ``errors``
(timed calls that raised or returned an unusable answer), ``calls_per_s``
(calls / elapsed wall time), ``p50_ms``/``p90_ms``/``p99_ms`` (nearest-rank
percentiles of per-call wall latency, successful calls only,
``time.perf_counter``), ``warmup_errors`` and ``first_error`` (the first error
message, warm-up included, or null). The exit status is 1 when a path had no
successful timed call, 2 when setup failed (gateway unreachable, version
lookup failed), with no report.

Run against a demo gateway (it starts both emulators in process and prints
their addresses)::

    target/release/datastudio-gateway demo --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
    pip install -r bench/requirements.txt ./clients/python
    python bench/python_compare.py \\
        --alibaba-url http://127.0.0.1:P --huawei-url http://127.0.0.1:Q \\
        --gateway 127.0.0.1:G --alibaba-workspace demo-dataworks \\
        --huawei-workspace demo-dataarts --seconds 5 [--json]

With ``--json`` stdout is exactly one JSON object
``{"python", "packages", "cases": [{"case", "sdk", "gateway"}]}``; without it a
table is printed first, then the same object. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import grpc
from alibabacloud_dataworks_public20240518 import models as dw_models
from alibabacloud_dataworks_public20240518.client import Client as DataWorksClient
from alibabacloud_tea_openapi import utils_models as open_api_models
from datastudio.v1 import common_pb2, file_pb2, file_pb2_grpc, release_pb2, release_pb2_grpc
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkdataartsstudio.v1 import (
    DataArtsStudioClient,
    ListFactoryReleasePackagesRequest,
    ListReleasePackagesRequestBody,
)

# Distributions whose versions go into the report.
REPORTED_PACKAGES = (
    "alibabacloud-dataworks-public20240518",
    "alibabacloud-tea-openapi",
    "darabonba-core",
    "huaweicloudsdkdataartsstudio",
    "huaweicloudsdkcore",
    "grpcio",
    "protobuf",
    "datastudio-gateway-client",
)
PAGE_SIZE = 100
GRPC_TIMEOUT_S = 30.0
PATHS = ("sdk", "gateway")

Call = Callable[[], None]


class BadAnswer(Exception):
    """A call that returned normally but with an answer the benchmark can't accept."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--alibaba-url", required=True, help="DataWorks emulator, http://host:port")
    p.add_argument("--huawei-url", required=True, help="DataArts Studio emulator, http://host:port")
    p.add_argument("--gateway", required=True, help="gateway gRPC address, host:port")
    p.add_argument("--alibaba-workspace", default="demo-dataworks", help="gateway workspace on DataWorks")
    p.add_argument("--huawei-workspace", default="demo-dataarts", help="gateway workspace on DataArts Studio")
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds per case and path")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured calls per case and path first")
    p.add_argument("--json", action="store_true", help="print only the JSON report on stdout")
    # Emulator facts (the demo's defaults).
    p.add_argument("--alibaba-access-key", default="demo-ak")
    p.add_argument("--alibaba-secret", default="demo-sk")
    p.add_argument("--alibaba-region", default="cn-hangzhou")
    p.add_argument("--alibaba-project-id", type=int, default=10003)
    p.add_argument("--file-id", type=int, default=100001, help="DataWorks file for get_file_version")
    p.add_argument("--file-version", type=int, help="its version (default: the newest, from ListFileVersions)")
    p.add_argument("--huawei-access-key", default="hw-demo-ak")
    p.add_argument("--huawei-secret", default="hw-demo-sk")
    p.add_argument("--huawei-project-id", default="b384b9e9ab9b4ee8994c8633aabc9505")
    p.add_argument("--huawei-workspace-id", default="ws-1234", help="DataArts workspace id (workspace header)")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0:
        p.error("--seconds must be positive and --warmup not negative")
    return args


# ---------------------------------------------------------------- clients


def dataworks_client(args: argparse.Namespace) -> DataWorksClient:
    """The DataWorks SDK client, over plain http to the emulator's host:port."""
    url = urlsplit(args.alibaba_url)
    config = open_api_models.Config(
        access_key_id=args.alibaba_access_key,
        access_key_secret=args.alibaba_secret,
        endpoint=url.netloc,
        protocol=url.scheme or "http",
        region_id=args.alibaba_region,
    )
    return DataWorksClient(config)


def dataarts_client(args: argparse.Namespace) -> DataArtsStudioClient:
    """The DataArts Studio v1 SDK client, AK/SK signed, pointed at the emulator."""
    credentials = BasicCredentials(args.huawei_access_key, args.huawei_secret, args.huawei_project_id)
    return (
        DataArtsStudioClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([args.huawei_url.rstrip("/")])
        .build()
    )


def newest_file_version(client: DataWorksClient, project_id: int, file_id: int) -> int:
    """The newest committed version of a DataWorks file, via ListFileVersions."""
    request = dw_models.ListFileVersionsRequest(project_id=project_id, file_id=file_id, page_number=1, page_size=1)
    body = client.list_file_versions(request).body
    if not body.success:
        raise BadAnswer(f"ListFileVersions: {body.error_code}: {body.error_message}")
    if not body.data or not body.data.file_versions:
        raise BadAnswer(f"ListFileVersions: file {file_id} has no versions")
    return int(body.data.file_versions[0].file_version)


# ---------------------------------------------------------------- cases


def alibaba_list_packages_sdk(client: DataWorksClient, project_id: int) -> Call:
    request = dw_models.ListDeploymentPackagesRequest(project_id=project_id, page_number=1, page_size=PAGE_SIZE)

    def call() -> None:
        body = client.list_deployment_packages(request).body
        if not body.data or not body.data.deployments:
            raise BadAnswer("ListDeploymentPackages returned no deployments")

    return call


def alibaba_get_version_sdk(client: DataWorksClient, project_id: int, file_id: int, version: int) -> Call:
    request = dw_models.GetFileVersionRequest(project_id=project_id, file_id=file_id, file_version=version)

    def call() -> None:
        body = client.get_file_version(request).body
        # Legacy DataWorks operations report failures in the body on HTTP 200.
        if not body.success:
            raise BadAnswer(f"GetFileVersion: {body.error_code}: {body.error_message}")
        if not body.data or not body.data.file_content:
            raise BadAnswer("GetFileVersion returned no content")

    return call


def huawei_list_packages_sdk(client: DataArtsStudioClient, workspace_id: str) -> Call:
    request = ListFactoryReleasePackagesRequest(
        workspace=workspace_id, body=ListReleasePackagesRequestBody(limit=PAGE_SIZE, offset=0)
    )

    def call() -> None:
        response = client.list_factory_release_packages(request)
        if not response.data:
            raise BadAnswer("ListFactoryReleasePackages returned no packages")

    return call


def gateway_list_packages(stub: release_pb2_grpc.ReleaseServiceStub, workspace: str) -> Call:
    request = release_pb2.ListReleasePackagesRequest(parent=f"workspaces/{workspace}", page_size=PAGE_SIZE)

    def call() -> None:
        response = stub.ListReleasePackages(request, timeout=GRPC_TIMEOUT_S)
        if not response.release_packages:
            raise BadAnswer("ListReleasePackages returned no packages")

    return call


def gateway_get_version(stub: file_pb2_grpc.FileServiceStub, workspace: str, file_id: int, version: int) -> Call:
    request = file_pb2.GetFileVersionRequest(
        name=f"workspaces/{workspace}/files/{file_id}/versions/{version}", view=common_pb2.VIEW_FULL
    )

    def call() -> None:
        response = stub.GetFileVersion(request, timeout=GRPC_TIMEOUT_S)
        if not response.file_version.content:
            raise BadAnswer("GetFileVersion returned no content")

    return call


def build_cases(args: argparse.Namespace, channel: grpc.Channel) -> list[tuple[str, dict[str, Call]]]:
    """(case name, {path: call}) for every case, clients built once and shared."""
    dataworks = dataworks_client(args)
    dataarts = dataarts_client(args)
    releases = release_pb2_grpc.ReleaseServiceStub(channel)
    files = file_pb2_grpc.FileServiceStub(channel)
    project = args.alibaba_project_id
    version = args.file_version or newest_file_version(dataworks, project, args.file_id)
    print(f"get_file_version: file {args.file_id} version {version}", file=sys.stderr)
    return [
        (
            "alibaba.list_release_packages",
            {
                "sdk": alibaba_list_packages_sdk(dataworks, project),
                "gateway": gateway_list_packages(releases, args.alibaba_workspace),
            },
        ),
        (
            "alibaba.get_file_version",
            {
                "sdk": alibaba_get_version_sdk(dataworks, project, args.file_id, version),
                "gateway": gateway_get_version(files, args.alibaba_workspace, args.file_id, version),
            },
        ),
        (
            "huawei.list_release_packages",
            {
                "sdk": huawei_list_packages_sdk(dataarts, args.huawei_workspace_id),
                "gateway": gateway_list_packages(releases, args.huawei_workspace),
            },
        ),
    ]


# ---------------------------------------------------------------- measuring


def describe(exc: BaseException) -> str:
    """One line naming an exception, with a gRPC status when there is one."""
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"grpc {exc.code().name}: {exc.details()}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[int(rank) - 1]


def measure(call: Call, seconds: float, warmup: int) -> dict[str, Any]:
    """Warm up, then call sequentially for `seconds`; count errors and time each call."""
    first_error: str | None = None
    warmup_errors = 0
    for _ in range(warmup):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever it is
            warmup_errors += 1
            first_error = first_error or describe(exc)
    latencies: list[float] = []
    calls = errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        t0 = time.perf_counter()
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            errors += 1
            first_error = first_error or describe(exc)
        else:
            latencies.append(time.perf_counter() - t0)
        calls += 1
        now = time.perf_counter()
    elapsed = now - start
    latencies.sort()

    def ms(q: float) -> float | None:
        v = percentile(latencies, q)
        return None if v is None else round(v * 1000, 3)

    return {
        "calls": calls,
        "errors": errors,
        "calls_per_s": round(calls / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": ms(50),
        "p90_ms": ms(90),
        "p99_ms": ms(99),
        "warmup_errors": warmup_errors,
        "first_error": first_error,
    }


# ---------------------------------------------------------------- report


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def table(report: dict[str, Any]) -> str:
    """The report as a fixed-width text table."""
    head = ("case", "path", "calls", "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms")
    rows = [head]
    for case in report["cases"]:
        for path in PATHS:
            r = case[path]
            rows.append(
                (
                    case["case"],
                    path,
                    str(r["calls"]),
                    str(r["errors"]),
                    f"{r['calls_per_s']:.1f}",
                    *(("-" if r[k] is None else f"{r[k]:.2f}") for k in ("p50_ms", "p90_ms", "p99_ms")),
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]

    def line(row: tuple[str, ...]) -> str:
        # Case and path left-aligned, numbers right-aligned.
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    lines = [line(row) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        f"  {case['case']} {path}: {case[path]['first_error']}"
        for case in report["cases"]
        for path in PATHS
        if case[path]["first_error"]
    ]
    versions = ", ".join(f"{k} {v}" for k, v in report["packages"].items())
    out = [f"python {report['python']}; {versions}", "", *lines]
    if notes:
        out += ["", "first errors:", *notes]
    return "\n".join(out)


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "packages": package_versions(),
        "cases": [],
    }
    with grpc.insecure_channel(args.gateway) as channel:
        grpc.channel_ready_future(channel).result(timeout=GRPC_TIMEOUT_S)
        for name, paths in build_cases(args, channel):
            result: dict[str, Any] = {"case": name}
            for path in PATHS:
                print(f"{name} {path}: {args.warmup} warm-up calls, then {args.seconds:g} s", file=sys.stderr)
                result[path] = measure(paths[path], args.seconds, args.warmup)
            report["cases"].append(result)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except grpc.FutureTimeoutError:
        print(f"python_compare: gateway {args.gateway} not reachable", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - setup (clients, version lookup) failed
        print(f"python_compare: setup failed: {describe(exc)}", file=sys.stderr)
        return 2
    if not args.json:
        print(table(report))
        print()
    print(json.dumps(report, indent=None if args.json else 2))
    dead = [f"{c['case']} {p}" for c in report["cases"] for p in PATHS if c[p]["calls"] == c[p]["errors"]]
    if dead:
        print(f"no successful call on: {', '.join(dead)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
