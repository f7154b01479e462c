"""The generated Python client against a running gateway.

scripts/clients-test.sh starts a demo gateway and sets DATASTUDIO_GATEWAY_ADDR.
Without it these tests are skipped, unless DATASTUDIO_GATEWAY_REQUIRED=1 makes
that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from datastudio.v1 import (
    common_pb2,
    file_pb2,
    file_pb2_grpc,
    release_pb2,
    release_pb2_grpc,
)

WORKSPACE = "workspaces/" + os.environ.get("DATASTUDIO_WORKSPACE", "demo-dataworks")
TERMINAL = {
    release_pb2.DEPLOYMENT_STATE_SUCCEEDED,
    release_pb2.DEPLOYMENT_STATE_FAILED,
    release_pb2.DEPLOYMENT_STATE_CANCELLED,
}


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    addr = os.environ.get("DATASTUDIO_GATEWAY_ADDR")
    if not addr:
        if os.environ.get("DATASTUDIO_GATEWAY_REQUIRED") == "1":
            pytest.fail("DATASTUDIO_GATEWAY_ADDR is not set")
        pytest.skip("DATASTUDIO_GATEWAY_ADDR is not set; run scripts/clients-test.sh")
    with grpc.insecure_channel(addr) as ch:
        yield ch


@pytest.fixture
def releases(channel: grpc.Channel) -> release_pb2_grpc.ReleaseServiceStub:
    return release_pb2_grpc.ReleaseServiceStub(channel)


@pytest.fixture
def files(channel: grpc.Channel) -> file_pb2_grpc.FileServiceStub:
    return file_pb2_grpc.FileServiceStub(channel)


def test_list_release_packages_pages_with_filter(releases: release_pb2_grpc.ReleaseServiceStub) -> None:
    keyword = "hotfix"
    seen: list[str] = []
    pages = 0
    request = release_pb2.ListReleasePackagesRequest(parent=WORKSPACE, page_size=25, keyword=keyword)
    while True:
        response = releases.ListReleasePackages(request, timeout=30)
        pages += 1
        assert len(response.release_packages) <= 25
        for package in response.release_packages:
            assert package.name.startswith(WORKSPACE + "/releasePackages/")
            assert keyword in package.display_name.lower(), package
            seen.append(package.name)
        if not response.next_page_token:
            break
        assert pages < 100
        request.page_token = response.next_page_token
    assert pages >= 2, f"{len(seen)} packages on {pages} page(s)"
    assert len(seen) == len(set(seen)), "a package was returned twice"
    assert len(seen) == response.total_size


def test_get_release_package(releases: release_pb2_grpc.ReleaseServiceStub) -> None:
    listed = releases.ListReleasePackages(
        release_pb2.ListReleasePackagesRequest(parent=WORKSPACE, page_size=1), timeout=30
    ).release_packages
    assert len(listed) == 1
    got = releases.GetReleasePackage(
        release_pb2.GetReleasePackageRequest(name=listed[0].name), timeout=30
    ).release_package
    assert got.name == listed[0].name
    assert got.display_name == listed[0].display_name
    assert got.state == listed[0].state
    assert got.vendor != common_pb2.VENDOR_UNSPECIFIED


def test_list_files(files: file_pb2_grpc.FileServiceStub) -> None:
    response = files.ListFiles(file_pb2.ListFilesRequest(parent=WORKSPACE, page_size=10), timeout=30)
    assert 1 <= len(response.files) <= 10
    assert response.next_page_token, "expected more than one page of files"
    for f in response.files:
        assert f.name.startswith(WORKSPACE + "/files/")
        assert f.display_name


def test_list_file_versions(files: file_pb2_grpc.FileServiceStub) -> None:
    parent = f"{WORKSPACE}/files/{os.environ.get('DATASTUDIO_VERSIONED_FILE', '100001')}"
    versions = files.ListFileVersions(
        file_pb2.ListFileVersionsRequest(parent=parent, page_size=100), timeout=30
    ).file_versions
    assert len(versions) >= 2
    numbers = [v.version for v in versions]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)
    for v in versions:
        assert v.name == f"{parent}/versions/{v.version}"


def test_deploy_files_is_idempotent_and_watchable(releases: release_pb2_grpc.ReleaseServiceStub) -> None:
    request = release_pb2.DeployFilesRequest(
        parent=WORKSPACE,
        files=[f"{WORKSPACE}/files/{os.environ.get('DATASTUDIO_DEPLOY_FILE', '100021')}"],
        comment="python client test",
        request_id=str(uuid.uuid4()),
    )
    first = releases.DeployFiles(request, timeout=60)
    assert first.deployments
    again = releases.DeployFiles(request, timeout=60)
    assert again == first, "a repeat with the same request_id must return the first result"
    for deployment in first.deployments:
        assert deployment.request_id == request.request_id
        states = []
        for message in releases.WatchDeployment(
            release_pb2.WatchDeploymentRequest(name=deployment.name), timeout=90
        ):
            assert message.deployment.name == deployment.name
            assert not (states and states[-1] in TERMINAL), f"message after a terminal state: {states}"
            states.append(message.deployment.state)
        assert states and states[-1] in TERMINAL, f"stream ended without a terminal state: {states}"
        assert states[-1] == release_pb2.DEPLOYMENT_STATE_SUCCEEDED, states


def test_invalid_argument_carries_bad_request(releases: release_pb2_grpc.ReleaseServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        releases.ListReleasePackages(
            release_pb2.ListReleasePackagesRequest(parent=WORKSPACE, page_size=1000), timeout=30
        )
    error = raised.value
    assert isinstance(error, grpc.Call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin"
    fields = []
    reasons = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields += [v.field for v in bad_request.field_violations]
            assert all(v.description for v in bad_request.field_violations)
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
    assert fields == ["page_size"]
    assert reasons and all(reasons)
