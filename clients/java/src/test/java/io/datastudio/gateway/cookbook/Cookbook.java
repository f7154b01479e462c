package io.datastudio.gateway.cookbook;

import com.google.gson.Gson;
import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.PreconditionFailure;
import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import io.datastudio.gateway.v1.DeployFilesRequest;
import io.datastudio.gateway.v1.DeployFilesResponse;
import io.datastudio.gateway.v1.Deployment;
import io.datastudio.gateway.v1.FileServiceGrpc;
import io.datastudio.gateway.v1.GetFileRequest;
import io.datastudio.gateway.v1.ListReleasePackagesRequest;
import io.datastudio.gateway.v1.ListReleasePackagesResponse;
import io.datastudio.gateway.v1.ListWorkspacesRequest;
import io.datastudio.gateway.v1.ReleaseServiceGrpc;
import io.datastudio.gateway.v1.WatchDeploymentRequest;
import io.datastudio.gateway.v1.WatchDeploymentResponse;
import io.datastudio.gateway.v1.WorkspaceServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.protobuf.StatusProto;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The caller cookbook in Java: each recipe is a small, complete flow against a gateway.
 * scripts/clients-test.sh runs every recipe against demo gateways and checks what it prints; the
 * README's "Caller cookbook" links here.
 *
 * <pre>
 * java -cp ... io.datastudio.gateway.cookbook.Cookbook deploy|retry|retry-policy|auth|roundrobin|errors
 * </pre>
 *
 * Settings come from the environment (see README "Caller cookbook").
 */
public final class Cookbook {
  private Cookbook() {}

  static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? def : v;
  }

  static String addr() {
    return env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051");
  }

  static String workspace() {
    return "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks");
  }

  static ManagedChannel plaintext(String target) {
    return ManagedChannelBuilder.forTarget(target).usePlaintext().build();
  }

  /**
   * Deploy with a request_id, repeat the call as a retry would (the gateway returns the first
   * result and deploys nothing twice), then watch each deployment to its terminal state.
   */
  static void deploy() {
    ManagedChannel channel = plaintext(addr());
    try {
      var releases = ReleaseServiceGrpc.newBlockingStub(channel);
      DeployFilesRequest req =
          DeployFilesRequest.newBuilder()
              .setParent(workspace())
              .addFiles(workspace() + "/files/" + env("DATASTUDIO_DEPLOY_FILE", "100024"))
              .setComment("cookbook")
              .setRequestId(UUID.randomUUID().toString()) // keep it for every retry of this deploy
              .build();
      DeployFilesResponse first = releases.withDeadlineAfter(60, TimeUnit.SECONDS).deployFiles(req);
      // A retry after a lost answer.
      DeployFilesResponse again = releases.withDeadlineAfter(60, TimeUnit.SECONDS).deployFiles(req);
      if (!again.getDeployments(0).getName().equals(first.getDeployments(0).getName())) {
        throw new IllegalStateException("a repeated request_id started another deployment");
      }
      System.out.println("deploy: repeat with the same request_id -> same deployment");
      for (Deployment d : first.getDeploymentsList()) {
        System.out.println("deploy: request_id " + req.getRequestId() + " -> " + d.getName());
        String last = "";
        // The server ends the stream after the terminal state.
        Iterator<WatchDeploymentResponse> it =
            releases
                .withDeadlineAfter(90, TimeUnit.SECONDS)
                .watchDeployment(WatchDeploymentRequest.newBuilder().setName(d.getName()).build());
        while (it.hasNext()) {
          last = it.next().getDeployment().getState().name();
          System.out.println("watch: " + last);
        }
        System.out.println("deploy: finished " + last);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** The details of an error's google.rpc.Status, unpacked as {@code type} (none if absent). */
  static <T extends com.google.protobuf.Message> List<T> details(Throwable e, Class<T> type) {
    List<T> out = new ArrayList<>();
    com.google.rpc.Status st = StatusProto.fromThrowable(e);
    if (st == null) {
      return out;
    }
    for (Any any : st.getDetailsList()) {
      if (any.is(type)) {
        try {
          out.add(any.unpack(type));
        } catch (InvalidProtocolBufferException ignored) {
          // a detail this client cannot read: skip it
        }
      }
    }
    return out;
  }

  static long millis(Duration d) {
    return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
  }

  static long retryDelayMs(Throwable e) {
    List<RetryInfo> r = details(e, RetryInfo.class);
    return r.isEmpty() ? 0 : millis(r.get(0).getRetryDelay());
  }

  /**
   * Retries UNAVAILABLE and RESOURCE_EXHAUSTED after the server's RetryInfo delay plus up to 20 %
   * of it at random (the gateway already spreads its delays; our own share keeps callers from
   * aligning), else after exponential backoff with full jitter. Each attempt has its own
   * deadline (the call gets a fresh one).
   */
  static <T> T withRetry(String name, int attempts, Function<Integer, T> call)
      throws InterruptedException {
    long backoff = 200;
    for (int n = 1; ; n++) {
      try {
        return call.apply(n);
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (n == attempts
            || (code != Status.Code.UNAVAILABLE && code != Status.Code.RESOURCE_EXHAUSTED)) {
          throw e;
        }
        long delay = retryDelayMs(e);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long wait = delay > 0 ? delay + random.nextLong(delay / 5 + 1) : random.nextLong(backoff);
        System.out.printf(
            "%s: attempt %d %s, RetryInfo %d ms, waiting %d ms%n", name, n, code, delay, wait);
        Thread.sleep(wait);
        backoff *= 2;
      }
    }
  }

  static void retry() throws InterruptedException {
    ManagedChannel channel = plaintext(addr());
    try {
      var files = FileServiceGrpc.newBlockingStub(channel);
      GetFileRequest req = GetFileRequest.newBuilder().setName(workspace() + "/files/100001").build();
      int attempts =
          withRetry(
              "retry",
              5,
              n -> {
                files.withDeadlineAfter(10, TimeUnit.SECONDS).getFile(req);
                return n;
              });
      System.out.println("retry: ok after " + attempts + " attempts");
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * gRPC's own retries, configured by the service config (clients/cookbook/service-config.json):
   * they honour the gateway's grpc-retry-pushback-ms trailer.
   */
  @SuppressWarnings("unchecked")
  static void retryPolicy() throws IOException {
    String json =
        Files.readString(
            Path.of(env("DATASTUDIO_SERVICE_CONFIG", "../cookbook/service-config.json")));
    Map<String, ?> config = new Gson().fromJson(json, Map.class);
    ManagedChannel channel =
        ManagedChannelBuilder.forTarget(addr())
            .usePlaintext()
            .defaultServiceConfig(config)
            .enableRetry()
            .build();
    try {
      FileServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .getFile(GetFileRequest.newBuilder().setName(workspace() + "/files/100001").build());
      System.out.println("retry-policy: ok");
    } finally {
      channel.shutdownNow();
    }
  }

  /** A bearer token on every call. */
  static final class Bearer extends CallCredentials {
    private final String token;

    Bearer(String token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      Metadata headers = new Metadata();
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      applier.apply(headers);
    }
  }

  /** A bearer token on every call, over TLS with a client certificate (mTLS). */
  static void auth() throws IOException {
    ChannelCredentials tls =
        TlsChannelCredentials.newBuilder()
            .trustManager(new File(System.getenv("DATASTUDIO_TLS_CA")))
            .keyManager(
                new File(System.getenv("DATASTUDIO_TLS_CERT")),
                new File(System.getenv("DATASTUDIO_TLS_KEY")))
            .build();
    String target = System.getenv("DATASTUDIO_SECURE_ADDR");
    ListReleasePackagesRequest req =
        ListReleasePackagesRequest.newBuilder().setParent(workspace()).setPageSize(5).build();
    ManagedChannel withToken =
        Grpc.newChannelBuilder(
                target,
                CompositeChannelCredentials.create(tls, new Bearer(System.getenv("DATASTUDIO_TOKEN"))))
            .build();
    ManagedChannel certOnly = Grpc.newChannelBuilder(target, tls).build();
    try {
      ListReleasePackagesResponse resp =
          ReleaseServiceGrpc.newBlockingStub(withToken)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .listReleasePackages(req);
      System.out.println(
          "auth: token over mTLS: " + resp.getReleasePackagesCount() + " release packages");
      // The certificate alone is another identity, which no policy names.
      try {
        ReleaseServiceGrpc.newBlockingStub(certOnly)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .listReleasePackages(req);
        System.out.println("auth: mTLS without the token: OK");
      } catch (StatusRuntimeException e) {
        System.out.println("auth: mTLS without the token: " + e.getStatus().getCode());
      }
    } finally {
      withToken.shutdownNow();
      certOnly.shutdownNow();
    }
  }

  /**
   * A name resolver for a fixed list of addresses ("replicas:///host1:port1,host2:port2"): grpc-java
   * has none built in. In Kubernetes use the chart's headless Service instead:
   * forTarget("dns:///datastudio-gateway-headless.NAMESPACE.svc:50051").
   */
  static final class StaticReplicas extends NameResolverProvider {
    @Override
    public NameResolver newNameResolver(URI uri, NameResolver.Args args) {
      if (!"replicas".equals(uri.getScheme())) {
        return null;
      }
      List<EquivalentAddressGroup> groups = new ArrayList<>();
      for (String a : uri.getPath().substring(1).split(",")) {
        int colon = a.lastIndexOf(':');
        SocketAddress sa =
            new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
        groups.add(new EquivalentAddressGroup(sa));
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "datastudio-gateway";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(
              io.grpc.StatusOr.fromValue(groups)).build());
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return "replicas";
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }
  }

  /** Client-side round_robin over a static list of replicas. */
  static void roundrobin() {
    NameResolverRegistry.getDefaultRegistry().register(new StaticReplicas());
    String replicas = env("DATASTUDIO_REPLICAS", "");
    ManagedChannel channel =
        ManagedChannelBuilder.forTarget("replicas:///" + replicas)
            .defaultLoadBalancingPolicy("round_robin")
            .usePlaintext()
            .build();
    try {
      var workspaces = WorkspaceServiceGrpc.newBlockingStub(channel);
      int calls = 10;
      for (int i = 0; i < calls; i++) {
        workspaces
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .withWaitForReady()
            .listWorkspaces(ListWorkspacesRequest.getDefaultInstance());
      }
      System.out.println(
          "roundrobin: " + calls + " calls over " + replicas.split(",").length + " replicas");
    } finally {
      channel.shutdownNow();
    }
  }

  /** Every detail the gateway attaches, read from the google.rpc.Status. */
  static void printDetails(StatusRuntimeException e) {
    System.out.println(
        "errors: " + e.getStatus().getCode() + " \"" + e.getStatus().getDescription() + "\"");
    for (ErrorInfo d : details(e, ErrorInfo.class)) {
      System.out.println(
          "errors:   ErrorInfo reason=" + d.getReason() + " domain=" + d.getDomain()
              + " metadata=" + d.getMetadataMap());
    }
    for (BadRequest d : details(e, BadRequest.class)) {
      for (BadRequest.FieldViolation v : d.getFieldViolationsList()) {
        System.out.println("errors:   BadRequest field=" + v.getField() + ": " + v.getDescription());
      }
    }
    for (PreconditionFailure d : details(e, PreconditionFailure.class)) {
      for (PreconditionFailure.Violation v : d.getViolationsList()) {
        System.out.println(
            "errors:   PreconditionFailure type=" + v.getType() + " subject=" + v.getSubject());
      }
    }
    for (QuotaFailure d : details(e, QuotaFailure.class)) {
      for (QuotaFailure.Violation v : d.getViolationsList()) {
        System.out.println(
            "errors:   QuotaFailure subject=" + v.getSubject() + ": " + v.getDescription());
      }
    }
    for (RetryInfo d : details(e, RetryInfo.class)) {
      System.out.println("errors:   RetryInfo " + millis(d.getRetryDelay()) + " ms");
    }
  }

  static void errors() {
    ManagedChannel channel = plaintext(addr());
    try {
      var releases = ReleaseServiceGrpc.newBlockingStub(channel);
      var files = FileServiceGrpc.newBlockingStub(channel);
      List<Runnable> calls =
          List.of(
              () ->
                  releases
                      .withDeadlineAfter(30, TimeUnit.SECONDS)
                      .listReleasePackages(
                          ListReleasePackagesRequest.newBuilder()
                              .setParent(workspace())
                              .setPageSize(-1)
                              .build()),
              () ->
                  releases
                      .withDeadlineAfter(30, TimeUnit.SECONDS)
                      .deployFiles(
                          DeployFilesRequest.newBuilder()
                              .setParent(workspace())
                              .addFiles(workspace() + "/files/999999")
                              .setRequestId(UUID.randomUUID().toString())
                              .build()),
              () ->
                  files
                      .withDeadlineAfter(30, TimeUnit.SECONDS)
                      .getFile(
                          GetFileRequest.newBuilder()
                              .setName(workspace() + "/files/100001")
                              .build()));
      for (Runnable call : calls) {
        try {
          call.run();
          System.out.println("errors: OK");
        } catch (StatusRuntimeException e) {
          printDetails(e);
        }
      }
    } finally {
      channel.shutdownNow();
    }
  }

  public static void main(String[] args) throws Exception {
    String recipe = args.length == 1 ? args[0] : "";
    switch (recipe) {
      case "deploy" -> deploy();
      case "retry" -> retry();
      case "retry-policy" -> retryPolicy();
      case "auth" -> auth();
      case "roundrobin" -> roundrobin();
      case "errors" -> errors();
      default -> {
        System.err.println("usage: Cookbook deploy|retry|retry-policy|auth|roundrobin|errors");
        System.exit(2);
      }
    }
  }
}
