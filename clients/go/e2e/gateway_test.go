// Package e2e tests the generated Go client against a running gateway
// (scripts/clients-test.sh starts a demo gateway and sets
// DATASTUDIO_GATEWAY_ADDR). Without that variable the tests are skipped,
// unless DATASTUDIO_GATEWAY_REQUIRED=1 makes that a failure.
package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	datastudiov1 "datastudio-gateway/clients/go/datastudio/v1"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dial connects to the gateway under test, or skips.
func dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	addr := os.Getenv("DATASTUDIO_GATEWAY_ADDR")
	if addr == "" {
		if os.Getenv("DATASTUDIO_GATEWAY_REQUIRED") == "1" {
			t.Fatal("DATASTUDIO_GATEWAY_ADDR is not set")
		}
		t.Skip("DATASTUDIO_GATEWAY_ADDR is not set; run scripts/clients-test.sh")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func workspace() string { return "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks") }

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func TestListReleasePackagesPagesWithFilter(t *testing.T) {
	releases := datastudiov1.NewReleaseServiceClient(dial(t))
	const keyword = "hotfix"
	seen := map[string]bool{}
	pages := 0
	var total int32
	req := &datastudiov1.ListReleasePackagesRequest{Parent: workspace(), PageSize: 25, Keyword: keyword}
	for {
		resp, err := releases.ListReleasePackages(ctx(t, 30*time.Second), req)
		if err != nil {
			t.Fatalf("ListReleasePackages page %d: %v", pages+1, err)
		}
		pages++
		total = resp.GetTotalSize()
		if len(resp.GetReleasePackages()) > 25 {
			t.Errorf("page %d has %d packages, asked for 25", pages, len(resp.GetReleasePackages()))
		}
		for _, p := range resp.GetReleasePackages() {
			if seen[p.GetName()] {
				t.Errorf("package %s returned twice", p.GetName())
			}
			seen[p.GetName()] = true
			if !strings.Contains(strings.ToLower(p.GetDisplayName()), keyword) {
				t.Errorf("package %s (%q) does not match keyword %q", p.GetName(), p.GetDisplayName(), keyword)
			}
			if !strings.HasPrefix(p.GetName(), workspace()+"/releasePackages/") {
				t.Errorf("unexpected package name %q", p.GetName())
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if pages < 2 {
		t.Fatalf("got %d page(s), want at least 2 (total %d)", pages, len(seen))
	}
	if int32(len(seen)) != total {
		t.Errorf("collected %d packages, total_size says %d", len(seen), total)
	}
	t.Logf("%d packages matching %q over %d pages", len(seen), keyword, pages)
}

func TestGetReleasePackage(t *testing.T) {
	releases := datastudiov1.NewReleaseServiceClient(dial(t))
	list, err := releases.ListReleasePackages(ctx(t, 30*time.Second),
		&datastudiov1.ListReleasePackagesRequest{Parent: workspace(), PageSize: 1})
	if err != nil {
		t.Fatalf("ListReleasePackages: %v", err)
	}
	if len(list.GetReleasePackages()) != 1 {
		t.Fatalf("want 1 package, got %d", len(list.GetReleasePackages()))
	}
	want := list.GetReleasePackages()[0]
	got, err := releases.GetReleasePackage(ctx(t, 30*time.Second),
		&datastudiov1.GetReleasePackageRequest{Name: want.GetName()})
	if err != nil {
		t.Fatalf("GetReleasePackage(%s): %v", want.GetName(), err)
	}
	p := got.GetReleasePackage()
	if p.GetName() != want.GetName() || p.GetDisplayName() != want.GetDisplayName() || p.GetState() != want.GetState() {
		t.Errorf("GetReleasePackage = %v, listed as %v", p, want)
	}
	if p.GetVendor() == datastudiov1.Vendor_VENDOR_UNSPECIFIED {
		t.Errorf("vendor not set on %s", p.GetName())
	}
}

func TestListFiles(t *testing.T) {
	files := datastudiov1.NewFileServiceClient(dial(t))
	resp, err := files.ListFiles(ctx(t, 30*time.Second),
		&datastudiov1.ListFilesRequest{Parent: workspace(), PageSize: 10})
	if err != nil {
		t.Fatalf("ListFiles: %v", err)
	}
	if n := len(resp.GetFiles()); n == 0 || n > 10 {
		t.Fatalf("ListFiles returned %d files, want 1..10", n)
	}
	if resp.GetNextPageToken() == "" {
		t.Errorf("expected more than one page of files")
	}
	for _, f := range resp.GetFiles() {
		if !strings.HasPrefix(f.GetName(), workspace()+"/files/") || f.GetDisplayName() == "" {
			t.Errorf("unexpected file %v", f)
		}
	}
}

func TestListFileVersions(t *testing.T) {
	files := datastudiov1.NewFileServiceClient(dial(t))
	parent := workspace() + "/files/" + env("DATASTUDIO_VERSIONED_FILE", "100001")
	resp, err := files.ListFileVersions(ctx(t, 30*time.Second),
		&datastudiov1.ListFileVersionsRequest{Parent: parent, PageSize: 100})
	if err != nil {
		t.Fatalf("ListFileVersions(%s): %v", parent, err)
	}
	versions := resp.GetFileVersions()
	if len(versions) < 2 {
		t.Fatalf("want several versions of %s, got %d", parent, len(versions))
	}
	for i, v := range versions {
		if want := fmt.Sprintf("%s/versions/%d", parent, v.GetVersion()); v.GetName() != want {
			t.Errorf("version name %q, want %q", v.GetName(), want)
		}
		if i > 0 && v.GetVersion() >= versions[i-1].GetVersion() {
			t.Errorf("versions not newest first: %d after %d", v.GetVersion(), versions[i-1].GetVersion())
		}
	}
}

func TestDeployFilesIsIdempotentAndWatchable(t *testing.T) {
	releases := datastudiov1.NewReleaseServiceClient(dial(t))
	req := &datastudiov1.DeployFilesRequest{
		Parent:    workspace(),
		Files:     []string{workspace() + "/files/" + env("DATASTUDIO_DEPLOY_FILE", "100011")},
		Comment:   "go client test",
		RequestId: newUUID(),
	}
	first, err := releases.DeployFiles(ctx(t, 60*time.Second), req)
	if err != nil {
		t.Fatalf("DeployFiles: %v", err)
	}
	if len(first.GetDeployments()) == 0 {
		t.Fatal("DeployFiles returned no deployment")
	}
	again, err := releases.DeployFiles(ctx(t, 60*time.Second), req)
	if err != nil {
		t.Fatalf("DeployFiles (repeat): %v", err)
	}
	if !proto.Equal(first, again) {
		t.Fatalf("repeat with the same request_id returned different deployments:\nfirst %v\nagain %v", first, again)
	}
	for _, d := range first.GetDeployments() {
		if d.GetRequestId() != req.GetRequestId() {
			t.Errorf("deployment %s has request_id %q, want %q", d.GetName(), d.GetRequestId(), req.GetRequestId())
		}
		final := watch(t, releases, d.GetName())
		if final != datastudiov1.DeploymentState_DEPLOYMENT_STATE_SUCCEEDED {
			t.Errorf("deployment %s ended %v, want SUCCEEDED", d.GetName(), final)
		}
	}
}

// watch follows a deployment to its end and returns the terminal state.
func watch(t *testing.T, releases datastudiov1.ReleaseServiceClient, name string) datastudiov1.DeploymentState {
	t.Helper()
	stream, err := releases.WatchDeployment(ctx(t, 90*time.Second), &datastudiov1.WatchDeploymentRequest{Name: name})
	if err != nil {
		t.Fatalf("WatchDeployment(%s): %v", name, err)
	}
	var states []datastudiov1.DeploymentState
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchDeployment(%s) after %v: %v", name, states, err)
		}
		if msg.GetDeployment().GetName() != name {
			t.Errorf("watch of %s sent %s", name, msg.GetDeployment().GetName())
		}
		if n := len(states); n > 0 && terminal(states[n-1]) {
			t.Errorf("message after terminal state: %v", append(states, msg.GetDeployment().GetState()))
		}
		states = append(states, msg.GetDeployment().GetState())
	}
	if len(states) == 0 || !terminal(states[len(states)-1]) {
		t.Fatalf("WatchDeployment(%s) ended without a terminal state: %v", name, states)
	}
	t.Logf("%s: %v", name, states)
	return states[len(states)-1]
}

func terminal(s datastudiov1.DeploymentState) bool {
	switch s {
	case datastudiov1.DeploymentState_DEPLOYMENT_STATE_SUCCEEDED,
		datastudiov1.DeploymentState_DEPLOYMENT_STATE_FAILED,
		datastudiov1.DeploymentState_DEPLOYMENT_STATE_CANCELLED:
		return true
	}
	return false
}

func TestInvalidArgumentCarriesBadRequest(t *testing.T) {
	releases := datastudiov1.NewReleaseServiceClient(dial(t))
	_, err := releases.ListReleasePackages(ctx(t, 30*time.Second),
		&datastudiov1.ListReleasePackagesRequest{Parent: workspace(), PageSize: 1000})
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("page_size 1000: got %v, want INVALID_ARGUMENT", err)
	}
	var fields []string
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("violation of %s has no description", v.GetField())
				}
			}
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if len(fields) != 1 || fields[0] != "page_size" {
		t.Errorf("BadRequest field violations %v, want [page_size]", fields)
	}
	if info == nil || info.GetDomain() == "" || info.GetReason() == "" {
		t.Errorf("ErrorInfo missing or empty: %v", info)
	}
}
