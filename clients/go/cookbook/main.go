// The caller cookbook in Go: each recipe is a small, complete flow against a
// gateway. scripts/clients-test.sh runs every recipe against demo gateways
// and checks what it prints; the README's "Caller cookbook" links here.
//
//	go run ./cookbook deploy        # deploy with request_id, repeat safely, watch to the end
//	go run ./cookbook retry         # deadline per attempt, retry on RetryInfo with jitter
//	go run ./cookbook retry-policy  # the same done by gRPC itself (service config)
//	go run ./cookbook auth          # bearer token over mTLS
//	go run ./cookbook roundrobin    # client-side round_robin across replicas
//	go run ./cookbook errors        # read every error detail
//
// Settings come from the environment (see README "Caller cookbook").
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	datastudiov1 "datastudio-gateway/clients/go/datastudio/v1"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func workspace() string { return "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks") }

func dial(addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	must(err)
	return conn
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cookbook:", err)
		os.Exit(1)
	}
}

func newUUID() string {
	var b [16]byte
	_, err := rand.Read(b[:])
	must(err)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Deploy with a request_id, repeat the call as a retry would (the gateway
// returns the first result and deploys nothing twice), then watch each
// deployment to its terminal state.
func deploy() {
	conn := dial(env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051"))
	defer conn.Close()
	releases := datastudiov1.NewReleaseServiceClient(conn)
	req := &datastudiov1.DeployFilesRequest{
		Parent:    workspace(),
		Files:     []string{workspace() + "/files/" + env("DATASTUDIO_DEPLOY_FILE", "100021")},
		Comment:   "cookbook",
		RequestId: newUUID(), // keep it for every retry of this deploy
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := releases.DeployFiles(ctx, req)
	must(err)
	again, err := releases.DeployFiles(ctx, req) // a retry after a lost answer
	must(err)
	if again.GetDeployments()[0].GetName() != first.GetDeployments()[0].GetName() {
		must(errors.New("a repeated request_id started another deployment"))
	}
	fmt.Println("deploy: repeat with the same request_id -> same deployment")
	for _, d := range first.GetDeployments() {
		fmt.Printf("deploy: request_id %s -> %s\n", req.GetRequestId(), d.GetName())
		stream, err := releases.WatchDeployment(ctx, &datastudiov1.WatchDeploymentRequest{Name: d.GetName()})
		must(err)
		var last datastudiov1.DeploymentState
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break // the server ends the stream after the terminal state
			}
			must(err)
			last = msg.GetDeployment().GetState()
			fmt.Println("watch:", last)
		}
		fmt.Println("deploy: finished", last)
	}
}

// Retries UNAVAILABLE and RESOURCE_EXHAUSTED after the server's RetryInfo
// delay plus up to 20 % of it at random (the gateway already spreads its
// delays; adding our own share keeps callers from aligning), else after
// exponential backoff with full jitter; each attempt has its own deadline.
func withRetry[T any](name string, attempts int, call func(ctx context.Context) (T, error)) (T, error) {
	backoff := 200 * time.Millisecond
	for n := 1; ; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := call(ctx)
		cancel()
		st := status.Convert(err)
		if err == nil || n == attempts || (st.Code() != codes.Unavailable && st.Code() != codes.ResourceExhausted) {
			return out, err
		}
		wait := jitter(backoff)
		if d := retryDelay(st); d > 0 {
			wait = d + jitter(d/5)
		}
		fmt.Printf("%s: attempt %d %s, RetryInfo %d ms, waiting %d ms\n", name, n, st.Code(), retryDelay(st).Milliseconds(), wait.Milliseconds())
		time.Sleep(wait)
		backoff *= 2
	}
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d)))
	must(err)
	return time.Duration(n.Int64())
}

func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			return r.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

func retry() {
	conn := dial(env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051"))
	defer conn.Close()
	files := datastudiov1.NewFileServiceClient(conn)
	attempts := 0
	_, err := withRetry("retry", 5, func(ctx context.Context) (*datastudiov1.GetFileResponse, error) {
		attempts++
		return files.GetFile(ctx, &datastudiov1.GetFileRequest{Name: workspace() + "/files/100001"})
	})
	must(err)
	fmt.Printf("retry: ok after %d attempts\n", attempts)
}

// gRPC's own retries, configured by the service config
// (clients/cookbook/service-config.json): they honour the gateway's
// grpc-retry-pushback-ms trailer.
func retryPolicy() {
	config, err := os.ReadFile(env("DATASTUDIO_SERVICE_CONFIG", "../cookbook/service-config.json"))
	must(err)
	conn := dial(env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051"), grpc.WithDefaultServiceConfig(string(config)))
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = datastudiov1.NewFileServiceClient(conn).GetFile(ctx, &datastudiov1.GetFileRequest{Name: workspace() + "/files/100001"})
	must(err)
	fmt.Println("retry-policy: ok")
}

// A bearer token on every call, over TLS with a client certificate (mTLS).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

func auth() {
	cert, err := tls.LoadX509KeyPair(os.Getenv("DATASTUDIO_TLS_CERT"), os.Getenv("DATASTUDIO_TLS_KEY"))
	must(err)
	ca, err := os.ReadFile(os.Getenv("DATASTUDIO_TLS_CA"))
	must(err)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12})
	addr := os.Getenv("DATASTUDIO_SECURE_ADDR")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(bearer(os.Getenv("DATASTUDIO_TOKEN"))))
	must(err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &datastudiov1.ListReleasePackagesRequest{Parent: workspace(), PageSize: 5}
	resp, err := datastudiov1.NewReleaseServiceClient(conn).ListReleasePackages(ctx, req)
	must(err)
	fmt.Printf("auth: token over mTLS: %d release packages\n", len(resp.GetReleasePackages()))
	// The same connection's certificate alone is another identity, which no policy names.
	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	must(err)
	defer plain.Close()
	_, err = datastudiov1.NewReleaseServiceClient(plain).ListReleasePackages(ctx, req)
	fmt.Println("auth: mTLS without the token:", status.Code(err))
}

// Client-side round_robin over a static list of replicas. In Kubernetes use
// the chart's headless Service instead of the manual resolver:
// grpc.NewClient("dns:///datastudio-gateway-headless.NAMESPACE.svc:50051", ...).
func roundRobin() {
	var addrs []resolver.Address
	for _, a := range strings.Split(os.Getenv("DATASTUDIO_REPLICAS"), ",") {
		addrs = append(addrs, resolver.Address{Addr: a})
	}
	r := manual.NewBuilderWithScheme("replicas")
	r.InitialState(resolver.State{Addresses: addrs})
	conn := dial(r.Scheme()+":///gateway", grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
	defer conn.Close()
	workspaces := datastudiov1.NewWorkspaceServiceClient(conn)
	const calls = 10
	for i := 0; i < calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := workspaces.ListWorkspaces(ctx, &datastudiov1.ListWorkspacesRequest{}, grpc.WaitForReady(true))
		cancel()
		must(err)
	}
	fmt.Printf("roundrobin: %d calls over %d replicas\n", calls, len(addrs))
}

// Every detail the gateway attaches, read from the status.
func printDetails(st *status.Status) {
	fmt.Printf("errors: %s %q\n", st.Code(), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			fmt.Printf("errors:   ErrorInfo reason=%s domain=%s metadata=%v\n", d.GetReason(), d.GetDomain(), d.GetMetadata())
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Printf("errors:   BadRequest field=%s: %s\n", v.GetField(), v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				fmt.Printf("errors:   PreconditionFailure type=%s subject=%s\n", v.GetType(), v.GetSubject())
			}
		case *errdetails.QuotaFailure:
			for _, v := range d.GetViolations() {
				fmt.Printf("errors:   QuotaFailure subject=%s: %s\n", v.GetSubject(), v.GetDescription())
			}
		case *errdetails.RetryInfo:
			fmt.Printf("errors:   RetryInfo %d ms\n", d.GetRetryDelay().AsDuration().Milliseconds())
		}
	}
}

func errorDetails() {
	conn := dial(env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051"))
	defer conn.Close()
	releases := datastudiov1.NewReleaseServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := releases.ListReleasePackages(ctx, &datastudiov1.ListReleasePackagesRequest{Parent: workspace(), PageSize: -1})
	printDetails(status.Convert(err))
	_, err = releases.DeployFiles(ctx, &datastudiov1.DeployFilesRequest{
		Parent: workspace(), Files: []string{workspace() + "/files/999999"}, RequestId: newUUID()})
	printDetails(status.Convert(err))
	_, err = datastudiov1.NewFileServiceClient(conn).GetFile(ctx, &datastudiov1.GetFileRequest{Name: workspace() + "/files/100001"})
	printDetails(status.Convert(err))
}

func main() {
	recipes := map[string]func(){
		"deploy": deploy, "retry": retry, "retry-policy": retryPolicy, "auth": auth,
		"roundrobin": roundRobin, "errors": errorDetails,
	}
	if len(os.Args) != 2 || recipes[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: cookbook deploy|retry|retry-policy|auth|roundrobin|errors")
		os.Exit(2)
	}
	recipes[os.Args[1]]()
}
