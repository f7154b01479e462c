"""The caller cookbook in Python: each recipe is a small, complete flow
against a gateway. scripts/clients-test.sh runs every recipe against demo
gateways and checks what it prints; the README's "Caller cookbook" links here.

    python cookbook.py deploy        # deploy with request_id, repeat safely, watch to the end
    python cookbook.py retry         # deadline per attempt, retry on RetryInfo with jitter
    python cookbook.py retry-policy  # the same done by gRPC itself (service config)
    python cookbook.py auth          # bearer token over mTLS
    python cookbook.py roundrobin    # client-side round_robin across replicas
    python cookbook.py errors        # read every error detail

Settings come from the environment (see README "Caller cookbook").
"""

import os
import random
import sys
import time
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from datastudio.v1 import (
    file_pb2,
    file_pb2_grpc,
    release_pb2,
    release_pb2_grpc,
    workspace_pb2,
    workspace_pb2_grpc,
)


def env(name, default=""):
    return os.environ.get(name) or default


def addr():
    return env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051")


def workspace():
    return "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks")


def deploy():
    """Deploy with a request_id, repeat the call as a retry would (the gateway
    returns the first result and deploys nothing twice), then watch each
    deployment to its terminal state."""
    with grpc.insecure_channel(addr()) as channel:
        releases = release_pb2_grpc.ReleaseServiceStub(channel)
        req = release_pb2.DeployFilesRequest(
            parent=workspace(),
            files=[f"{workspace()}/files/{env('DATASTUDIO_DEPLOY_FILE', '100022')}"],
            comment="cookbook",
            request_id=str(uuid.uuid4()),  # keep it for every retry of this deploy
        )
        first = releases.DeployFiles(req, timeout=60)
        again = releases.DeployFiles(req, timeout=60)  # a retry after a lost answer
        if again.deployments[0].name != first.deployments[0].name:
            sys.exit("a repeated request_id started another deployment")
        print("deploy: repeat with the same request_id -> same deployment")
        for d in first.deployments:
            print(f"deploy: request_id {req.request_id} -> {d.name}")
            last = None
            # The server ends the stream after the terminal state.
            for msg in releases.WatchDeployment(release_pb2.WatchDeploymentRequest(name=d.name), timeout=90):
                last = release_pb2.DeploymentState.Name(msg.deployment.state)
                print("watch:", last)
            print("deploy: finished", last)


def details(err):
    """The google.rpc.Status of an RpcError, or None."""
    return rpc_status.from_call(err)


def retry_delay(err):
    st = details(err)
    for any_ in st.details if st else []:
        if any_.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            any_.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    return 0.0


def with_retry(name, call, attempts=5):
    """Retries UNAVAILABLE and RESOURCE_EXHAUSTED after the server's RetryInfo
    delay plus up to 20 % of it at random (the gateway already spreads its
    delays; our own share keeps callers from aligning), else after exponential
    backoff with full jitter. Each attempt has its own deadline (timeout)."""
    backoff = 0.2
    for n in range(1, attempts + 1):
        try:
            return call(timeout=10), n
        except grpc.RpcError as err:
            code = err.code()
            if n == attempts or code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
                raise
            delay = retry_delay(err)
            wait = delay + random.uniform(0, delay / 5) if delay else random.uniform(0, backoff)
            print(f"{name}: attempt {n} {code.name}, RetryInfo {round(delay * 1000)} ms, waiting {round(wait * 1000)} ms")
            time.sleep(wait)
            backoff *= 2


def retry():
    with grpc.insecure_channel(addr()) as channel:
        files = file_pb2_grpc.FileServiceStub(channel)
        req = file_pb2.GetFileRequest(name=f"{workspace()}/files/100001")
        _, attempts = with_retry("retry", lambda timeout: files.GetFile(req, timeout=timeout))
        print(f"retry: ok after {attempts} attempts")


def retry_policy():
    """gRPC's own retries, configured by the service config
    (clients/cookbook/service-config.json): they honour the gateway's
    grpc-retry-pushback-ms trailer."""
    with open(env("DATASTUDIO_SERVICE_CONFIG", "../cookbook/service-config.json")) as f:
        config = f.read()
    options = [("grpc.service_config", config), ("grpc.enable_retries", 1)]
    with grpc.insecure_channel(addr(), options=options) as channel:
        files = file_pb2_grpc.FileServiceStub(channel)
        files.GetFile(file_pb2.GetFileRequest(name=f"{workspace()}/files/100001"), timeout=30)
        print("retry-policy: ok")


def auth():
    """A bearer token on every call, over TLS with a client certificate (mTLS)."""

    def read(name):
        with open(os.environ[name], "rb") as f:
            return f.read()

    tls = grpc.ssl_channel_credentials(
        root_certificates=read("DATASTUDIO_TLS_CA"),
        private_key=read("DATASTUDIO_TLS_KEY"),
        certificate_chain=read("DATASTUDIO_TLS_CERT"),
    )
    token = grpc.access_token_call_credentials(os.environ["DATASTUDIO_TOKEN"])  # authorization: Bearer …
    req = release_pb2.ListReleasePackagesRequest(parent=workspace(), page_size=5)
    with grpc.secure_channel(os.environ["DATASTUDIO_SECURE_ADDR"], grpc.composite_channel_credentials(tls, token)) as ch:
        resp = release_pb2_grpc.ReleaseServiceStub(ch).ListReleasePackages(req, timeout=30)
        print(f"auth: token over mTLS: {len(resp.release_packages)} release packages")
    # The certificate alone is another identity, which no policy names.
    with grpc.secure_channel(os.environ["DATASTUDIO_SECURE_ADDR"], tls) as ch:
        try:
            release_pb2_grpc.ReleaseServiceStub(ch).ListReleasePackages(req, timeout=30)
            print("auth: mTLS without the token: OK")
        except grpc.RpcError as err:
            print("auth: mTLS without the token:", err.code().name)


def roundrobin():
    """Client-side round_robin over a static list of replicas. In Kubernetes
    use the chart's headless Service as the target instead:
    dns:///datastudio-gateway-headless.NAMESPACE.svc:50051."""
    replicas = env("DATASTUDIO_REPLICAS").split(",")
    target = "ipv4:" + ",".join(replicas)  # gRPC's static list of addresses
    # The list is no host name: name one for :authority (HTTP/2 refuses the list itself).
    options = [("grpc.lb_policy_name", "round_robin"), ("grpc.default_authority", "datastudio-gateway")]
    with grpc.insecure_channel(target, options=options) as channel:
        workspaces = workspace_pb2_grpc.WorkspaceServiceStub(channel)
        calls = 10
        for _ in range(calls):
            workspaces.ListWorkspaces(workspace_pb2.ListWorkspacesRequest(), timeout=10, wait_for_ready=True)
        print(f"roundrobin: {calls} calls over {len(replicas)} replicas")


def print_details(err):
    """Every detail the gateway attaches, read from the google.rpc.Status."""
    print(f"errors: {err.code().name} {err.details()!r}")
    st = details(err)
    for any_ in st.details if st else []:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.QuotaFailure,
            error_details_pb2.RetryInfo,
        ):
            if any_.Is(kind.DESCRIPTOR):
                d = kind()
                any_.Unpack(d)
                break
        else:
            continue
        if isinstance(d, error_details_pb2.ErrorInfo):
            print(f"errors:   ErrorInfo reason={d.reason} domain={d.domain} metadata={dict(d.metadata)}")
        elif isinstance(d, error_details_pb2.BadRequest):
            for v in d.field_violations:
                print(f"errors:   BadRequest field={v.field}: {v.description}")
        elif isinstance(d, error_details_pb2.PreconditionFailure):
            for v in d.violations:
                print(f"errors:   PreconditionFailure type={v.type} subject={v.subject}")
        elif isinstance(d, error_details_pb2.QuotaFailure):
            for v in d.violations:
                print(f"errors:   QuotaFailure subject={v.subject}: {v.description}")
        else:
            print(f"errors:   RetryInfo {round(d.retry_delay.ToTimedelta().total_seconds() * 1000)} ms")


def errors():
    with grpc.insecure_channel(addr()) as channel:
        releases = release_pb2_grpc.ReleaseServiceStub(channel)
        files = file_pb2_grpc.FileServiceStub(channel)
        calls = [
            lambda: releases.ListReleasePackages(
                release_pb2.ListReleasePackagesRequest(parent=workspace(), page_size=-1), timeout=30
            ),
            lambda: releases.DeployFiles(
                release_pb2.DeployFilesRequest(
                    parent=workspace(), files=[f"{workspace()}/files/999999"], request_id=str(uuid.uuid4())
                ),
                timeout=30,
            ),
            lambda: files.GetFile(file_pb2.GetFileRequest(name=f"{workspace()}/files/100001"), timeout=30),
        ]
        for call in calls:
            try:
                call()
                print("errors: OK")
            except grpc.RpcError as err:
                print_details(err)


RECIPES = {
    "deploy": deploy,
    "retry": retry,
    "retry-policy": retry_policy,
    "auth": auth,
    "roundrobin": roundrobin,
    "errors": errors,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in RECIPES:
        sys.exit("usage: cookbook.py " + "|".join(RECIPES))
    RECIPES[sys.argv[1]]()
