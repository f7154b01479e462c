package io.datastudio.gateway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.datastudio.gateway.v1.DeployFilesRequest;
import io.datastudio.gateway.v1.DeployFilesResponse;
import io.datastudio.gateway.v1.Deployment;
import io.datastudio.gateway.v1.DeploymentState;
import io.datastudio.gateway.v1.File;
import io.datastudio.gateway.v1.FileServiceGrpc;
import io.datastudio.gateway.v1.FileVersion;
import io.datastudio.gateway.v1.GetReleasePackageRequest;
import io.datastudio.gateway.v1.ListFileVersionsRequest;
import io.datastudio.gateway.v1.ListFilesRequest;
import io.datastudio.gateway.v1.ListFilesResponse;
import io.datastudio.gateway.v1.ListReleasePackagesRequest;
import io.datastudio.gateway.v1.ListReleasePackagesResponse;
import io.datastudio.gateway.v1.ReleasePackage;
import io.datastudio.gateway.v1.ReleaseServiceGrpc;
import io.datastudio.gateway.v1.Vendor;
import io.datastudio.gateway.v1.WatchDeploymentRequest;
import io.datastudio.gateway.v1.WatchDeploymentResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated Java client against a running gateway. scripts/clients-test.sh starts a demo
 * gateway and sets DATASTUDIO_GATEWAY_ADDR; without it these tests are skipped (so a plain
 * {@code mvn install} works), unless DATASTUDIO_GATEWAY_REQUIRED=1 makes that a failure.
 */
class GatewayClientTest {
  private static final String WORKSPACE =
      "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks");
  private static final Set<DeploymentState> TERMINAL =
      Set.of(
          DeploymentState.DEPLOYMENT_STATE_SUCCEEDED,
          DeploymentState.DEPLOYMENT_STATE_FAILED,
          DeploymentState.DEPLOYMENT_STATE_CANCELLED);

  private static ManagedChannel channel;

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  @BeforeAll
  static void connect() {
    String addr = env("DATASTUDIO_GATEWAY_ADDR", "");
    if (addr.isEmpty()) {
      if ("1".equals(System.getenv("DATASTUDIO_GATEWAY_REQUIRED"))) {
        fail("DATASTUDIO_GATEWAY_ADDR is not set");
      }
      Assumptions.abort("DATASTUDIO_GATEWAY_ADDR is not set; run scripts/clients-test.sh");
    }
    channel = ManagedChannelBuilder.forTarget(addr).usePlaintext().build();
  }

  @AfterAll
  static void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ReleaseServiceGrpc.ReleaseServiceBlockingStub releases(int seconds) {
    return ReleaseServiceGrpc.newBlockingStub(channel).withDeadlineAfter(seconds, TimeUnit.SECONDS);
  }

  private static FileServiceGrpc.FileServiceBlockingStub files() {
    return FileServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @Test
  void listReleasePackagesPagesWithFilter() {
    String keyword = "hotfix";
    Set<String> seen = new HashSet<>();
    int pages = 0;
    ListReleasePackagesResponse page;
    ListReleasePackagesRequest.Builder request =
        ListReleasePackagesRequest.newBuilder()
            .setParent(WORKSPACE)
            .setPageSize(25)
            .setKeyword(keyword);
    do {
      page = releases(30).listReleasePackages(request.build());
      pages++;
      assertTrue(page.getReleasePackagesCount() <= 25, "page larger than page_size");
      for (ReleasePackage p : page.getReleasePackagesList()) {
        assertTrue(seen.add(p.getName()), "returned twice: " + p.getName());
        assertTrue(
            p.getDisplayName().toLowerCase(Locale.ROOT).contains(keyword),
            p.getName() + " does not match: " + p.getDisplayName());
        assertTrue(p.getName().startsWith(WORKSPACE + "/releasePackages/"), p.getName());
      }
      assertTrue(pages < 100, "more than 100 pages");
      request.setPageToken(page.getNextPageToken());
    } while (!page.getNextPageToken().isEmpty());
    assertTrue(pages >= 2, "want at least 2 pages, got " + pages);
    assertEquals(page.getTotalSize(), seen.size(), "total_size");
  }

  @Test
  void getReleasePackage() {
    ReleasePackage listed =
        releases(30)
            .listReleasePackages(
                ListReleasePackagesRequest.newBuilder().setParent(WORKSPACE).setPageSize(1).build())
            .getReleasePackages(0);
    ReleasePackage got =
        releases(30)
            .getReleasePackage(GetReleasePackageRequest.newBuilder().setName(listed.getName()).build())
            .getReleasePackage();
    assertEquals(listed.getName(), got.getName());
    assertEquals(listed.getDisplayName(), got.getDisplayName());
    assertEquals(listed.getState(), got.getState());
    assertNotEquals(Vendor.VENDOR_UNSPECIFIED, got.getVendor());
  }

  @Test
  void listFiles() {
    ListFilesResponse response =
        files().listFiles(ListFilesRequest.newBuilder().setParent(WORKSPACE).setPageSize(10).build());
    assertTrue(response.getFilesCount() >= 1 && response.getFilesCount() <= 10);
    assertFalse(response.getNextPageToken().isEmpty(), "expected more than one page of files");
    for (File f : response.getFilesList()) {
      assertTrue(f.getName().startsWith(WORKSPACE + "/files/"), f.getName());
      assertFalse(f.getDisplayName().isEmpty());
    }
  }

  @Test
  void listFileVersions() {
    String parent = WORKSPACE + "/files/" + env("DATASTUDIO_VERSIONED_FILE", "100001");
    List<FileVersion> versions =
        files()
            .listFileVersions(
                ListFileVersionsRequest.newBuilder().setParent(parent).setPageSize(100).build())
            .getFileVersionsList();
    assertTrue(versions.size() >= 2, "want several versions, got " + versions.size());
    for (int i = 0; i < versions.size(); i++) {
      FileVersion v = versions.get(i);
      assertEquals(parent + "/versions/" + v.getVersion(), v.getName());
      if (i > 0) {
        assertTrue(v.getVersion() < versions.get(i - 1).getVersion(), "not newest first");
      }
    }
  }

  @Test
  void deployFilesIsIdempotentAndWatchable() {
    DeployFilesRequest request =
        DeployFilesRequest.newBuilder()
            .setParent(WORKSPACE)
            .addFiles(WORKSPACE + "/files/" + env("DATASTUDIO_DEPLOY_FILE", "100031"))
            .setComment("java client test")
            .setRequestId(UUID.randomUUID().toString())
            .build();
    DeployFilesResponse first = releases(60).deployFiles(request);
    assertTrue(first.getDeploymentsCount() > 0, "no deployment");
    DeployFilesResponse again = releases(60).deployFiles(request);
    assertEquals(first, again, "a repeat with the same request_id must return the first result");
    for (Deployment d : first.getDeploymentsList()) {
      assertEquals(request.getRequestId(), d.getRequestId());
      List<DeploymentState> states = new ArrayList<>();
      Iterator<WatchDeploymentResponse> stream =
          releases(90).watchDeployment(WatchDeploymentRequest.newBuilder().setName(d.getName()).build());
      while (stream.hasNext()) {
        Deployment seen = stream.next().getDeployment();
        assertEquals(d.getName(), seen.getName());
        assertFalse(
            !states.isEmpty() && TERMINAL.contains(states.get(states.size() - 1)),
            "message after a terminal state: " + states);
        states.add(seen.getState());
      }
      assertFalse(states.isEmpty(), "empty stream");
      DeploymentState last = states.get(states.size() - 1);
      assertTrue(TERMINAL.contains(last), "stream ended without a terminal state: " + states);
      assertEquals(DeploymentState.DEPLOYMENT_STATE_SUCCEEDED, last, states.toString());
    }
  }

  @Test
  void invalidArgumentCarriesBadRequest() throws InvalidProtocolBufferException {
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                releases(30)
                    .listReleasePackages(
                        ListReleasePackagesRequest.newBuilder()
                            .setParent(WORKSPACE)
                            .setPageSize(1000)
                            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    assertNotNull(status, "no grpc-status-details-bin");
    List<String> fields = new ArrayList<>();
    ErrorInfo info = null;
    for (Any detail : status.getDetailsList()) {
      if (detail.is(BadRequest.class)) {
        for (BadRequest.FieldViolation v : detail.unpack(BadRequest.class).getFieldViolationsList()) {
          fields.add(v.getField());
          assertFalse(v.getDescription().isEmpty());
        }
      } else if (detail.is(ErrorInfo.class)) {
        info = detail.unpack(ErrorInfo.class);
      }
    }
    assertEquals(List.of("page_size"), fields);
    assertNotNull(info, "no ErrorInfo");
    assertFalse(info.getReason().isEmpty());
  }
}
