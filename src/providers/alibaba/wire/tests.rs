//! Reading DataWorks answers: required fields, numbers as strings, omitted
//! optional fields, raw records kept for VIEW_FULL.

use tonic::Code;

use super::*;
use crate::{
    domain::Reason,
    providers::{
        alibaba::{
            api::Api,
            client::{Reply, parse},
            scan,
        },
        client::Answer,
    },
};

/// A successful answer to `action` with `body` (request id in the header too).
fn reply(action: Api, body: &str) -> Reply {
    let mut headers = ::http::HeaderMap::new();
    headers.insert("x-acs-request-id", "HDR-1".parse().unwrap());
    let a = Answer { status: ::http::StatusCode::OK, headers, body: bytes::Bytes::from(body.to_owned()) };
    parse(&a, action).expect("a successful answer")
}

/// Asserts `e` is VENDOR_RESPONSE_MALFORMED with request id `rid`, naming `what`.
fn assert_malformed(e: &crate::domain::Error, rid: &str, what: &str) {
    assert_eq!((e.code, e.reason), (Code::Internal, Reason::VendorResponseMalformed), "{e}");
    assert_eq!(e.vendor.as_ref().unwrap().request_id, rid);
    assert!(e.message.contains(what), "{what} in {:?}", e.message);
}

#[test]
fn a_missing_or_renamed_required_field_is_malformed_with_the_request_id() {
    let r = reply(
        Api::ListDeploymentPackages,
        r#"{"RequestId":"R1","Data":{"TotalCount":1,"Deployments":[{"ID":3000001,"Status":1}]}}"#,
    );
    let e = r.read::<ListDeploymentPackages>().unwrap_err();
    assert_malformed(&e, "R1", "missing field `Id`");
    assert!(e.message.contains("ListDeploymentPackages"), "{}", e.message);
    let r = reply(Api::GetFile, r#"{"RequestId":"R2","Success":true,"Data":{"file":{"FileId":1}}}"#);
    assert_malformed(&r.read::<GetFile>().unwrap_err(), "R2", "missing field `File`");
    let r = reply(Api::DeployFile, r#"{"Success":true}"#);
    assert_malformed(&r.read::<DeployFile>().unwrap_err(), "HDR-1", "missing field `Data`");
    let r = reply(Api::GetPipelineRun, r#"{"RequestId":"R3","Pipeline":{"Id":"a","Stages":[]}}"#);
    assert_malformed(&r.read::<GetPipelineRun>().unwrap_err(), "R3", "missing field `Status`");
    let r = reply(Api::ListFiles, r#"{"RequestId":"R4","Data":{"Files":[]}}"#);
    assert_malformed(&r.read::<ListFiles>().unwrap_err(), "R4", "missing field `TotalCount`");
    // A present value of the wrong kind is not read as absent.
    let r = reply(Api::GetFileVersion, r#"{"RequestId":"R5","Data":{"FileVersion":2,"CommitTime":"soon"}}"#);
    assert_malformed(&r.read::<GetFileVersion>().unwrap_err(), "R5", "soon");
}

#[test]
fn numbers_sent_as_strings_are_read() {
    let r = reply(
        Api::ListDeploymentPackages,
        r#"{"Data":{"TotalCount":"240","Deployments":[{"Id":"3000001","Status":"2","CreateTime":"1761955200000",
            "ExecuteTime":1.7612e12,"Creator":2003000000000001}]}}"#,
    );
    let (rows, total) = r.read::<ListDeploymentPackages>().unwrap().split();
    let row = &rows.unwrap()[0];
    assert_eq!((total, row.id, row.status), (240, 3_000_001, 2));
    assert_eq!((row.create_time, row.execute_time), (Some(1_761_955_200_000), Some(1_761_200_000_000)));
    assert_eq!(row.creator.as_deref(), Some("2003000000000001"), "a UID sent as a number");
    let r = reply(Api::DeployFile, r#"{"Success":true,"Data":"3000241"}"#);
    assert_eq!(r.read::<DeployFile>().unwrap().data, 3_000_241);
    let r = reply(Api::ListPipelineRunItems, r#"{"PagingInfo":{"TotalCount":1,"PipelineRunItems":[{"Id":100003}]}}"#);
    let (items, _) = r.read::<ListPipelineRunItems>().unwrap().split();
    assert_eq!(items.unwrap()[0].id, "100003", "item ids were numbers before SDK 8.0.0");
}

#[test]
fn omitted_optional_fields_are_absent() {
    let r = reply(
        Api::GetDeploymentPackage,
        r#"{"RequestId":"R","Success":true,"Data":{"Deployment":{"Status":0,"CheckingStatus":""}}}"#,
    );
    let data = r.read::<GetDeploymentPackage>().unwrap().data;
    assert_eq!((data.deployment.status, data.deployment.checking_status), (0, None));
    assert!(data.deployment.name.is_none() && data.deployment.error_message.is_none());
    assert!(data.deployed_items.is_none());
    let r = reply(
        Api::GetFileVersion,
        r#"{"Data":{"FileVersion":3,"IsCurrentProd":"true","NodeContent":{"cycleType":0},"FilePropertyContent":null}}"#,
    );
    let v = r.read::<GetFileVersion>().unwrap().data;
    assert_eq!((v.file_version, v.is_current_prod), (3, Some(true)));
    assert_eq!(v.node_content.as_deref(), Some(r#"{"cycleType":0}"#), "an object is kept as JSON text");
    assert!(v.file_property_content.is_none() && v.file_content.is_none() && v.commit_time.is_none());
}

#[test]
fn text_is_borrowed_from_the_body_unless_escaped() {
    let r = reply(Api::GetFile, r#"{"Data":{"File":{"FileId":7,"FileName":"ods_user","Content":"a\nb"}}}"#);
    let got = r.read::<GetFile>().unwrap();
    assert!(matches!(got.data.file.file_name, Some(Cow::Borrowed("ods_user"))));
    assert!(matches!(&got.data.file.content, Some(Cow::Owned(s)) if s == "a\nb"));
}

#[test]
fn the_raw_record_is_built_only_for_view_full() {
    let r = reply(
        Api::GetFile,
        r#"{"RequestId":"R","Data":{"File":{"FileId":7},"NodeConfiguration":{"CycleType":"DAY"}}}"#,
    );
    let data = r.read::<GetFile>().unwrap().data;
    assert!(data.record(false).is_none());
    let rec = data.record(true).unwrap();
    assert!(rec.fields.contains_key("NodeConfiguration") && rec.fields.contains_key("File"));
}

#[test]
fn an_answer_read_without_records_reads_the_same_rows_and_keeps_no_raw_json() {
    let body = r#"{"RequestId":"R","Data":{"TotalCount":2,"Deployments":[
        {"Id":1,"Status":1,"Name":"a\u0041","Extra":{"k":[1,2]}},{"Id":"2","Status":0,"Creator":9}]}}"#;
    let r = reply(Api::ListDeploymentPackages, body);
    let (lean, _) = r.read_view::<ListDeploymentPackages>(false).unwrap().split();
    let (kept, _) = r.read_view::<ListDeploymentPackages>(true).unwrap().split();
    let (lean, kept) = (lean.unwrap(), kept.unwrap());
    assert_eq!(
        format!("{:?}", lean.iter().map(|r| &r.value).collect::<Vec<_>>()),
        format!("{:?}", kept.iter().map(|r| &r.value).collect::<Vec<_>>())
    );
    assert_eq!(lean[0].name.as_deref(), Some("aA"));
    assert!(lean.iter().all(|r| r.raw.is_none()));
    assert_eq!(kept[0].raw.map(RawValue::get), Some(r#"{"Id":1,"Status":1,"Name":"a\u0041","Extra":{"k":[1,2]}}"#));
    assert!(kept[0].record(true).unwrap().fields.contains_key("Extra"));
    // The choice lasts one read: a malformed lean read leaves records on.
    assert!(r.read_view::<GetFile>(false).is_err());
    assert!(r.read::<ListDeploymentPackages>().unwrap().split().0.unwrap()[1].raw.is_some());
}

#[test]
fn a_list_may_be_left_out_only_where_no_rows_are_due() {
    let r = reply(Api::ListFiles, r#"{"RequestId":"R6","Data":{"TotalCount":0}}"#);
    let (files, total) = scan::rows(&r, r.read::<ListFiles>().unwrap(), 0).unwrap();
    assert!(files.is_empty() && total == 0);
    let r = reply(Api::ListFileVersions, r#"{"RequestId":"R7","Data":{"TotalCount":2,"FileVersions":null}}"#);
    assert!(scan::rows(&r, r.read::<ListFileVersions>().unwrap(), 2).unwrap().0.is_empty(), "past the end");
    let e = scan::rows(&r, r.read::<ListFileVersions>().unwrap(), 0).unwrap_err();
    assert_malformed(&e, "R7", "no Data.FileVersions (TotalCount 2)");
}

#[test]
fn data_studio_answers_are_read_as_the_reference_shapes_them() {
    // ListNodes types its paging numbers as strings; ids are strings holding int64s.
    let r = reply(
        Api::ListNodes,
        r#"{"RequestId":"R","PagingInfo":{"PageNumber":"1","PageSize":"10","TotalCount":"42","Nodes":[
            {"Id":"8604388726201130001","Name":"ods","Script":{"Id":"1","Path":"a/b","Runtime":{"Command":"ODPS_SQL"}},
             "TaskId":700000000001}]}}"#,
    );
    let (rows, total) = r.read::<studio::ListNodes>().unwrap().split();
    let row = &rows.unwrap()[0];
    assert_eq!((total, row.id.as_ref(), row.task_id), (42, "8604388726201130001", Some(700_000_000_001)));
    let command = row.script.as_ref().and_then(|s| s.runtime.as_ref()).and_then(|r| r.command.as_deref());
    assert_eq!(command, Some("ODPS_SQL"));
    // A getter's Spec is JSON text (an object in some samples).
    let r = reply(Api::GetNode, r#"{"Node":{"Id":"1","Spec":{"kind":"Node","spec":{"nodes":[]}}}}"#);
    assert_eq!(
        r.read::<studio::GetNode>().unwrap().node.spec.as_deref(),
        Some(r#"{"kind":"Node","spec":{"nodes":[]}}"#)
    );
    // A snapshot carries Content or ContentUrl.
    let r = reply(Api::GetSnapshot, r#"{"Snapshot":{"Id":"5","Version":"2","ContentUrl":"https://x"}}"#);
    let s = r.read::<studio::GetSnapshot>().unwrap().snapshot;
    assert_eq!((s.version, s.content.is_none(), s.content_url.as_deref()), (2, true, Some("https://x")));
    // Run item types are a closed vocabulary; an unknown one is absent, not an error.
    let r = reply(
        Api::ListPipelineRunItems,
        r#"{"PagingInfo":{"TotalCount":2,"PipelineRunItems":[{"Id":"1","Type":"WorkflowDefinition"},{"Id":"2","Type":"Component"}]}}"#,
    );
    let items = r.read::<ListPipelineRunItems>().unwrap().split().0.unwrap();
    assert_eq!((items[0].r#type, items[1].r#type), (Some(studio::ObjectKind::Workflow), None));
}

#[test]
fn the_envelope_is_read_from_the_top_level_only_and_the_payload_is_checked() {
    let body =
        r#"{"Data":{"Success":false,"RequestId":"inner","Rows":[{"Code":"x"}]},"RequestId":"R9","Success":true}"#;
    let env: Envelope = serde_json::from_str(body).unwrap();
    assert_eq!(env.get(EnvelopeKey::RequestId), Some(r#""R9""#));
    assert_eq!(env.get(EnvelopeKey::Success), Some("true"));
    assert_eq!(env.get(EnvelopeKey::Code), None, "a row's Code is not the answer's");
    // A repeated key: the last one, as a map reader keeps.
    let env: Envelope = serde_json::from_str(r#"{"requestId":"a","requestId":"b"}"#).unwrap();
    assert_eq!(env.get(EnvelopeKey::RequestIdCamel), Some(r#""b""#));
    // A payload that is not JSON is an error, although it is not read.
    for bad in [r#"{"Data":{"x":tru},"RequestId":"R"}"#, r#"{"Data":[1,2,"#, r#"{"Data":"a\q"}"#, "{} x"] {
        assert!(serde_json::from_str::<Envelope>(bad).is_err(), "{bad}");
    }
}
