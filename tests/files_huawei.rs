//! FileService on a DataArts workspace, through the real gRPC server against
//! the DataArts emulator: scripts and jobs merged behind one cursor, every
//! filter honoured or rejected by name, script versions read one by one.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::collections::HashSet;

use datastudio_gateway::{
    emulator::huawei::{
        APPLICANTS, CJK_SCRIPT, JOB_COUNT, PENDING_JOB, SCRIPT_COUNT, UNRELEASED_SCRIPT, VERSIONED_SCRIPT,
        VERSIONED_SCRIPT_PUBLISHED, VERSIONED_SCRIPT_VERSIONS,
    },
    pb,
};
use tonic::Code;

fn list(f: impl FnOnce(&mut pb::ListFilesRequest)) -> pb::ListFilesRequest {
    let mut r = pb::ListFilesRequest { parent: hw::WS.into(), page_size: 100, ..Default::default() };
    f(&mut r);
    r
}

async fn all(h: &hw::Hw, mut req: pb::ListFilesRequest) -> (Vec<pb::File>, i32, usize) {
    let (mut out, mut pages, mut total) = (Vec::new(), 0, -1);
    loop {
        let r = h.gw.files().list_files(req.clone()).await.expect("list files").into_inner();
        pages += 1;
        if total >= 0 {
            assert_eq!(r.total_size, total, "total_size is stable across pages");
        }
        total = r.total_size;
        out.extend(r.files);
        if r.next_page_token.is_empty() {
            return (out, total, pages);
        }
        req.page_token = r.next_page_token;
        assert!(pages < 500, "paging does not end");
    }
}

/// GetFile of each file, one after another.
async fn get_each(h: &hw::Hw, files: &[pb::File]) -> Vec<pb::File> {
    let mut out = Vec::new();
    for f in files {
        let r = h.gw.files().get_file(pb::GetFileRequest { name: f.name.clone(), view: 0 }).await.expect("get file");
        out.push(r.into_inner().file.expect("file"));
    }
    out
}

fn file(id: &str) -> String {
    hw::name("files", id)
}

#[tokio::test]
async fn files_merge_scripts_and_jobs_across_pages() {
    let h = hw::start().await;
    for size in [13, 1] {
        let (files, total, pages) = all(&h, list(|r| r.page_size = size)).await;
        assert_eq!(total as usize, SCRIPT_COUNT + JOB_COUNT);
        assert_eq!(files.len(), SCRIPT_COUNT + JOB_COUNT, "page size {size}");
        assert!(pages >= 5);
        let names: HashSet<_> = files.iter().map(|f| f.name.clone()).collect();
        assert_eq!(names.len(), files.len(), "no duplicates");
        let first_job = files.iter().position(|f| f.kind() == pb::FileKind::Job).unwrap();
        assert_eq!(first_job, SCRIPT_COUNT, "scripts first, then jobs");
        assert!(files[first_job..].iter().all(|f| f.kind() == pb::FileKind::Job));
        assert!(files.iter().all(|f| f.content.is_empty() && !f.folder_path.is_empty() && f.owner.is_some()));
    }
    let s =
        h.gw.files()
            .list_files(list(|r| r.exact_name = VERSIONED_SCRIPT.into()))
            .await
            .unwrap()
            .into_inner()
            .files
            .remove(0);
    assert_eq!((s.file_type.is_empty(), s.current_version), (false, i64::from(VERSIONED_SCRIPT_VERSIONS)));
}

#[tokio::test]
async fn every_file_filter_changes_the_result_or_is_rejected_by_name() {
    let h = hw::start().await;
    let (base, _, _) = all(&h, list(|_| {})).await;
    let n = base.len();
    let expect = |pred: &dyn Fn(&pb::File) -> bool| -> Vec<String> {
        base.iter().filter(|f| pred(f)).map(|f| f.name.clone()).collect()
    };
    let names = |v: &[pb::File]| v.iter().map(|f| f.name.clone()).collect::<Vec<_>>();

    // folder_path, across several pages of a gateway-filtered listing.
    let (folder, _, pages) = all(&h, list(|r| (r.folder_path, r.page_size) = ("/report".into(), 5))).await;
    assert!(pages >= 5 && !folder.is_empty() && folder.len() < n);
    assert_eq!(names(&folder), expect(&|f| f.folder_path == "/report" || f.folder_path.starts_with("/report/")));

    let (kw, total, _) = all(&h, list(|r| r.keyword = "FINANCE".into())).await;
    assert!(!kw.is_empty() && kw.len() < n && total as usize == kw.len(), "the vendor applied it: total is exact");
    assert_eq!(names(&kw), expect(&|f| f.display_name.contains("finance")));

    let (exact, _, _) = all(&h, list(|r| r.exact_name = VERSIONED_SCRIPT.into())).await;
    assert_eq!(names(&exact), vec![file(&format!("script:{VERSIONED_SCRIPT}"))]);

    let (hive, _, _) = all(&h, list(|r| r.file_types = vec!["HiveSQL".into()])).await;
    assert!(!hive.is_empty() && hive.len() < n);
    assert_eq!(names(&hive), expect(&|f| f.file_type == "HiveSQL"));
    let before = h.count("scripts.list");
    let (batch, _, _) = all(&h, list(|r| r.file_types = vec!["BATCH".into()])).await;
    assert_eq!(names(&batch), expect(&|f| f.file_type == "BATCH"));
    assert_eq!(h.count("scripts.list"), before, "job types alone read no scripts");

    let alice = pb::UserRef { key: Some(pb::user_ref::Key::DisplayName(APPLICANTS[0].1.into())) };
    let (owned, _, _) = all(&h, list(|r| r.owner = Some(alice.clone()))).await;
    assert!(!owned.is_empty() && owned.len() < n);
    assert_eq!(names(&owned), expect(&|f| f.owner.as_ref().unwrap().display_name == "alice"));

    let ids = vec![format!("script:{CJK_SCRIPT}"), format!("job:{PENDING_JOB}")];
    let (picked, _, _) = all(&h, list(|r| r.file_ids = ids.clone())).await;
    assert_eq!(names(&picked), ids.iter().map(|i| file(i)).collect::<Vec<_>>());

    let (edited, _, _) = all(&h, list(|r| r.last_editor = Some(alice.clone()))).await;
    assert!(!edited.is_empty());
    assert_eq!(names(&edited), expect(&|f| f.last_editor.as_ref().is_some_and(|u| u.display_name == "alice")));

    let r = h.gw.files().list_files(list(|r| (r.include_content, r.page_size) = (true, 3))).await.unwrap().into_inner();
    assert!(r.files.iter().all(|f| f.content.contains("version")), "script content on the page");
    assert_eq!(h.count("scripts.show"), 0, "no v1 show per file");
    assert_eq!(h.count("scripts.list-v1"), 1, "the page's content from one v1 list page");
    let before = h.calls();
    let r =
        h.gw.files().list_files(list(|r| (r.include_content, r.page_size) = (true, 20))).await.unwrap().into_inner();
    assert_eq!(r.files.len(), 20);
    let shown: Vec<pb::File> = get_each(&h, &r.files).await;
    for (listed, alone) in r.files.iter().zip(&shown) {
        assert_eq!(listed.content, alone.content, "{}: the listed content is what GetFile shows", listed.name);
    }
    assert!(h.calls() - before - shown.len() * 2 <= 3, "a page of 20 with content: v2 page + v1 page (+ jobs total)");

    let r =
        h.gw.files()
            .list_files(list(|r| (r.include_folder_path, r.view) = (true, pb::View::Full as i32)))
            .await
            .unwrap()
            .into_inner();
    assert!(r.files.iter().all(|f| !f.folder_path.is_empty() && f.vendor_record.is_some()));

    // Rejected filters and keys DataArts cannot filter by: named, before any vendor call.
    let before = h.calls();
    let cases: Vec<(&str, pb::ListFilesRequest)> = vec![
        ("use_type", list(|r| r.use_type = pb::UseType::Normal as i32)),
        ("node_id", list(|r| r.node_id = "n1".into())),
        ("commit_status", list(|r| r.commit_status = pb::CommitStatus::Committed as i32)),
        ("owner.id", list(|r| r.owner = Some(pb::UserRef { key: Some(pb::user_ref::Key::Id("u1".into())) }))),
        ("file_ids[0]", list(|r| r.file_ids = vec!["12345".into()])),
    ];
    for (field, req) in cases {
        let e = h.gw.files().list_files(req).await.unwrap_err();
        assert_eq!((e.code(), common::violated_fields(&e)), (Code::InvalidArgument, vec![field.to_owned()]), "{field}");
    }
    assert_eq!(h.calls(), before);

    // The workspace tells callers all of this in advance.
    let ws =
        h.gw.workspaces()
            .get_workspace(pb::GetWorkspaceRequest { name: hw::WS.into() })
            .await
            .unwrap()
            .into_inner()
            .workspace
            .unwrap();
    assert_eq!((ws.vendor(), ws.flavour.as_str()), (pb::Vendor::HuaweiDataarts, "dataarts"));
    let caps = ws.capabilities.unwrap();
    let rejected: Vec<_> = caps
        .filters
        .iter()
        .filter(|f| f.handling() == pb::FilterHandling::Rejected)
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(rejected, ["ListFilesRequest.use_type", "ListFilesRequest.node_id", "ListFilesRequest.commit_status"]);
}

#[tokio::test]
async fn get_file_reads_scripts_and_jobs_by_name() {
    let h = hw::start().await;
    let get = |id: String, view: pb::View| {
        let mut c = h.gw.files();
        async move {
            c.get_file(pb::GetFileRequest { name: file(&id), view: view as i32 })
                .await
                .map(|r| r.into_inner().file.unwrap())
        }
    };
    let s = get(format!("script:{VERSIONED_SCRIPT}"), pb::View::Full).await.expect("script");
    assert_eq!(s.kind(), pb::FileKind::Script);
    assert!(s.content.contains(&format!("version {VERSIONED_SCRIPT_VERSIONS}")));
    assert_eq!(s.current_version, i64::from(VERSIONED_SCRIPT_VERSIONS));
    assert!(s.update_time.is_some() && s.owner.is_some() && !s.folder_path.is_empty());
    let rec = s.vendor_record.unwrap();
    assert!(rec.fields.contains_key("detail") && rec.fields.contains_key("row"));

    let cjk = get(format!("script:{CJK_SCRIPT}"), pb::View::Basic).await.expect("a name that needs percent-encoding");
    assert_eq!(cjk.display_name, CJK_SCRIPT);
    assert!(cjk.content.contains(CJK_SCRIPT));

    let j = get(format!("job:{PENDING_JOB}"), pb::View::Basic).await.expect("job");
    assert_eq!(j.kind(), pb::FileKind::Job);
    assert!(matches!(j.file_type.as_str(), "BATCH" | "REAL_TIME"));
    let def: serde_json::Value = serde_json::from_str(&j.content).expect("the job definition is JSON");
    assert!(def["nodes"].is_array());
    assert!(j.last_editor.is_some() && j.create_time.is_some());

    let e = get("script:no-such-script".into(), pb::View::Basic).await.unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::NotFound, "DLF.6201"));
    assert_eq!(hw::meta(&e, "vendor_request_id").len(), 32, "the vendor request id travels in ErrorInfo");
    let e = get("job:no-such-job".into(), pb::View::Basic).await.unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::NotFound, "DLF.0100"));
    let before = h.calls();
    let e = get("10001".into(), pb::View::Basic).await.unwrap_err();
    assert_eq!((e.code(), common::violated_fields(&e)), (Code::InvalidArgument, vec!["name".to_owned()]));
    assert_eq!(h.calls(), before);
}

#[tokio::test]
async fn script_versions_are_read_one_by_one_newest_first() {
    let h = hw::start().await;
    let parent = file(&format!("script:{VERSIONED_SCRIPT}"));
    let mut req = pb::ListFileVersionsRequest { parent: parent.clone(), page_size: 2, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let before = h.calls();
        let r = h.gw.files().list_file_versions(req.clone()).await.expect("versions").into_inner();
        assert_eq!(r.total_size as u32, VERSIONED_SCRIPT_VERSIONS);
        let calls = h.calls() - before;
        if req.page_token.is_empty() {
            assert_eq!(calls, 2 + r.file_versions.len(), "row + production read + one call per version");
        } else {
            assert_eq!(calls, 1 + r.file_versions.len(), "the cursor knows the latest version: no row read");
        }
        seen.extend(r.file_versions);
        if r.next_page_token.is_empty() {
            break;
        }
        req.page_token = r.next_page_token;
    }
    let versions: Vec<i64> = seen.iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=i64::from(VERSIONED_SCRIPT_VERSIONS)).rev().collect::<Vec<_>>());
    for v in &seen {
        assert_eq!(v.name, format!("{parent}/versions/{}", v.version));
        assert!(v.content.contains(&format!("version {}", v.version)));
        assert_eq!(v.is_current_prod, v.version == i64::from(VERSIONED_SCRIPT_PUBLISHED));
    }

    let one =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest {
                name: format!("{parent}/versions/2"),
                view: pb::View::Full as i32,
            })
            .await
            .expect("version 2")
            .into_inner()
            .file_version
            .unwrap();
    assert!(one.content.contains("version 2") && !one.is_current_prod && one.vendor_record.is_some());
    let e =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{parent}/versions/99"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    let job = file(&format!("job:{PENDING_JOB}"));
    let e =
        h.gw.files()
            .list_file_versions(pb::ListFileVersionsRequest { parent: job.clone(), ..Default::default() })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("jobs"), "{}", e.message());
    let e =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{job}/versions/1"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e =
        h.gw.files()
            .list_file_versions(pb::ListFileVersionsRequest { parent: file("script:nope"), ..Default::default() })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn versions_of_a_script_never_released_are_readable() {
    let h = hw::start().await;
    let parent = file(&format!("script:{UNRELEASED_SCRIPT}"));
    let r = h
        .gw
        .files()
        .list_file_versions(pb::ListFileVersionsRequest { parent: parent.clone(), page_size: 10, ..Default::default() })
        .await
        .expect("the vendor's 'not released' answer means no production version")
        .into_inner();
    assert!(r.file_versions.len() >= 2, "{:?}", r.file_versions);
    assert!(r.file_versions.iter().all(|v| !v.is_current_prod), "nothing of it is in production");
    let v =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{parent}/versions/1"), view: 0 })
            .await
            .expect("version 1")
            .into_inner()
            .file_version
            .unwrap();
    assert!(v.content.contains("version 1") && !v.is_current_prod);
    let e =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{parent}/versions/99"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::NotFound, "DLF.6201"));
}

#[tokio::test]
async fn each_page_of_an_unfiltered_listing_is_one_vendor_call_past_the_scripts_jobs_boundary() {
    let h = hw::start().await;
    let before = h.count("scripts.list") + h.count("jobs.list");
    let (files, _, pages) = all(&h, list(|r| r.page_size = 11)).await;
    assert_eq!(files.len(), SCRIPT_COUNT + JOB_COUNT);
    let calls = h.count("scripts.list") + h.count("jobs.list") - before;
    // One call a page, plus the page that straddles the boundary (scripts,
    // then jobs) and one small call for the jobs total on the first page.
    assert_eq!(calls, pages + 2, "{pages} pages");
    let shown: Vec<_> = h.emu.control.requests().into_iter().filter(|r| r.action == "jobs.list").collect();
    assert!(shown.iter().all(|r| {
        let q =
            |k: &str| r.target.split(['?', '&']).find_map(|kv| kv.strip_prefix(k)).and_then(|v| v.parse::<u32>().ok());
        matches!((q("offset="), q("limit=")), (Some(o), Some(l)) if o % l == 0)
    }));
}
