//! The vendor-conformance suite: one table of neutral scenarios, run
//! against every vendor's emulator through the real gRPC server. A third
//! vendor plugs in by adding one `Harness` constructor.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::collections::HashSet;

use common::Gateway;
use datastudio_gateway::{emulator::common::Control, pb};
use tonic::Code;

/// What the suite needs to know about one vendor's emulator.
struct Harness {
    vendor: pb::Vendor,
    ws: &'static str,
    gw: Gateway,
    control: Control,
    /// A file with at least three versions.
    versioned_file: String,
    /// A file that DeployFiles deploys successfully.
    deployable_file: String,
    /// The vendor's deploy action name (emulator log).
    deploy_action: &'static str,
    /// Keep the emulator alive.
    _emu: Box<dyn std::any::Any + Send>,
}

async fn alibaba() -> Harness {
    let env = common::alibaba::start().await;
    Harness {
        vendor: pb::Vendor::AlibabaDataworks,
        ws: common::alibaba::WS,
        control: env.emu.control.clone(),
        versioned_file: format!("{}/files/100001", common::alibaba::WS),
        deployable_file: format!("{}/files/100004", common::alibaba::WS),
        deploy_action: "DeployFile",
        gw: env.gw,
        _emu: Box::new(env.emu),
    }
}

async fn huawei() -> Harness {
    let h = hw::start().await;
    Harness {
        vendor: pb::Vendor::HuaweiDataarts,
        ws: hw::WS,
        control: h.emu.control.clone(),
        versioned_file: hw::name("files", "script:etl-000"),
        deployable_file: hw::name("files", "job:job-etl-000"),
        deploy_action: "release-packages.deploy",
        gw: h.gw,
        _emu: Box::new(h.emu),
    }
}

async fn harnesses() -> Vec<Harness> {
    vec![alibaba().await, huawei().await]
}

async fn packages(h: &Harness, size: i32, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    while out.len() < limit {
        let r =
            h.gw.release()
                .list_release_packages(pb::ListReleasePackagesRequest {
                    parent: h.ws.into(),
                    page_size: size,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list packages")
                .into_inner();
        out.extend(r.release_packages.into_iter().map(|p| p.name));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    out.truncate(limit);
    out
}

async fn files(h: &Harness, size: i32, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    while out.len() < limit {
        let r =
            h.gw.files()
                .list_files(pb::ListFilesRequest {
                    parent: h.ws.into(),
                    page_size: size,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list files")
                .into_inner();
        out.extend(r.files.into_iter().map(|f| f.name));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    out.truncate(limit);
    out
}

#[tokio::test]
async fn paging_is_consistent_at_page_sizes_1_2_3() {
    for h in harnesses().await {
        let reference = packages(&h, 12, 12).await;
        assert_eq!(reference.len(), 12, "{:?}", h.vendor);
        assert_eq!(reference.iter().collect::<HashSet<_>>().len(), 12);
        for size in [1, 2, 3] {
            assert_eq!(packages(&h, size, 12).await, reference, "{:?} packages, page size {size}", h.vendor);
        }
        let reference = files(&h, 9, 9).await;
        for size in [1, 2, 3] {
            assert_eq!(files(&h, size, 9).await, reference, "{:?} files, page size {size}", h.vendor);
        }
    }
}

#[tokio::test]
async fn get_agrees_with_list_and_full_view_carries_the_vendor_record() {
    for h in harnesses().await {
        let listed =
            h.gw.release()
                .list_release_packages(pb::ListReleasePackagesRequest {
                    parent: h.ws.into(),
                    page_size: 3,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .release_packages;
        for p in listed {
            assert_eq!(p.vendor(), h.vendor);
            assert!(p.vendor_record.is_none(), "BASIC view has no raw record");
            let got = h
                .gw
                .release()
                .get_release_package(pb::GetReleasePackageRequest { name: p.name.clone(), view: pb::View::Full as i32 })
                .await
                .unwrap()
                .into_inner()
                .release_package
                .unwrap();
            assert_eq!((got.name.as_str(), got.display_name.as_str()), (p.name.as_str(), p.display_name.as_str()));
            assert!(got.vendor_record.is_some_and(|r| !r.fields.is_empty()), "{:?}: FULL view", h.vendor);
        }
        let f =
            h.gw.files()
                .get_file(pb::GetFileRequest { name: h.versioned_file.clone(), view: pb::View::Full as i32 })
                .await
                .unwrap()
                .into_inner()
                .file
                .unwrap();
        assert!(!f.content.is_empty() && f.vendor_record.is_some(), "{:?}", h.vendor);
    }
}

#[tokio::test]
async fn versions_are_listed_newest_first_and_each_can_be_read() {
    for h in harnesses().await {
        let r =
            h.gw.files()
                .list_file_versions(pb::ListFileVersionsRequest {
                    parent: h.versioned_file.clone(),
                    page_size: 3,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
        assert_eq!(r.file_versions.len(), 3, "{:?}", h.vendor);
        let numbers: Vec<i64> = r.file_versions.iter().map(|v| v.version).collect();
        assert!(numbers.windows(2).all(|w| w[0] > w[1]), "{:?}: newest first {numbers:?}", h.vendor);
        for v in &r.file_versions {
            let got =
                h.gw.files()
                    .get_file_version(pb::GetFileVersionRequest { name: v.name.clone(), view: 0 })
                    .await
                    .unwrap()
                    .into_inner()
                    .file_version
                    .unwrap();
            assert_eq!((got.version, got.content.as_str()), (v.version, v.content.as_str()), "{:?}", h.vendor);
            assert!(!got.content.is_empty());
        }
    }
}

#[tokio::test]
async fn unknown_resources_are_not_found_and_bad_ids_cost_no_vendor_call() {
    for h in harnesses().await {
        let e =
            h.gw.release()
                .get_release_package(pb::GetReleasePackageRequest {
                    name: format!("{}/releasePackages/99999", h.ws),
                    view: 0,
                })
                .await
                .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{:?}: {e:?}", h.vendor);
        let info = common::error_info(&e).unwrap();
        assert!(!info.metadata["vendor_request_id"].is_empty(), "{:?}", h.vendor);
        let before = h.control.requests().len();
        let e = h
            .gw
            .release()
            .get_deployment(pb::GetDeploymentRequest { name: format!("{}/deployments/not a number", h.ws), view: 0 })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{:?}", h.vendor);
        assert_eq!(h.control.requests().len(), before, "{:?}: no vendor call for a malformed id", h.vendor);
    }
}

#[tokio::test]
async fn deploy_files_is_followed_to_the_end_and_never_repeated() {
    for h in harnesses().await {
        let req = pb::DeployFilesRequest {
            parent: h.ws.into(),
            files: vec![h.deployable_file.clone()],
            comment: "conformance".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let first = h.gw.release().deploy_files(req.clone()).await.unwrap().into_inner();
        let again = h.gw.release().deploy_files(req).await.unwrap().into_inner();
        assert_eq!(first, again, "{:?}: the same answer", h.vendor);
        assert_eq!(h.control.count(h.deploy_action), 1, "{:?}: deployed once", h.vendor);
        let d = &first.deployments[0];
        assert_eq!(d.vendor(), h.vendor);
        let mut s =
            h.gw.release()
                .watch_deployment(pb::WatchDeploymentRequest { name: d.name.clone(), view: 0 })
                .await
                .unwrap()
                .into_inner();
        let mut last = None;
        while let Some(m) = s.message().await.unwrap() {
            last = m.deployment;
        }
        assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded, "{:?}", h.vendor);
    }
}

#[tokio::test]
async fn capabilities_cover_every_list_filter() {
    let fields = |d: &str| -> Vec<String> {
        let fds =
            <prost_types::FileDescriptorSet as prost::Message>::decode(datastudio_gateway::pb::FILE_DESCRIPTOR_SET)
                .unwrap();
        let m = fds.file.iter().flat_map(|f| &f.message_type).find(|m| m.name() == d).unwrap();
        m.field
            .iter()
            .map(|f| f.name().to_owned())
            .filter(|n| !["parent", "page_size", "page_token", "view"].contains(&n.as_str()))
            .map(|n| format!("{d}.{n}"))
            .collect()
    };
    let expected: Vec<String> =
        fields("ListReleasePackagesRequest").into_iter().chain(fields("ListFilesRequest")).collect();
    for h in harnesses().await {
        let ws =
            h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
        let caps = ws.workspace.unwrap().capabilities.unwrap();
        for f in &expected {
            let got = caps.filters.iter().find(|x| &x.field == f);
            assert!(
                got.is_some_and(|x| x.handling() != pb::FilterHandling::Unspecified),
                "{:?}: capabilities say nothing about {f}",
                h.vendor
            );
        }
        assert_eq!(caps.operations.len(), 10, "{:?}: every RPC of Release and File services", h.vendor);
    }
}
