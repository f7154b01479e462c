//! DataArts Factory wire types (vendor-apis.md 2.3–2.9): v2 bodies are
//! snake_case, v1 bodies camelCase. Requests omit unset keys; responses are
//! read leniently (ids and numbers may come as strings or numbers, `null`
//! as absent), because the SDK models and the documented payloads disagree.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A record as the vendor wrote it: read into its typed form by the
/// caller, and into a protobuf `Struct` only for VIEW_FULL.
pub(super) type Raw = Box<RawValue>;

/// Lenient field readers, reading each value straight from the answer
/// (through a `serde_json::Value` they cost a copy of every string and a
/// tree for every object they then dropped).
pub(super) mod de {
    use std::fmt;

    use serde::{
        Deserialize, Deserializer,
        de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
    };

    /// What a lenient reader makes of each kind of JSON value; objects and
    /// lists are skipped and read as [`Lenient::other`].
    trait Lenient: Sized {
        fn string(s: &str) -> Self;
        fn int(n: i64) -> Self;
        fn uint(n: u64) -> Self;
        fn float(f: f64) -> Self;
        fn boolean(b: bool) -> Self;
        fn other() -> Self;
    }

    struct Reader<T>(std::marker::PhantomData<T>);

    impl<'de, T: Lenient> Visitor<'de> for Reader<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_str<E>(self, v: &str) -> Result<T, E> {
            Ok(T::string(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<T, E> {
            Ok(T::int(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<T, E> {
            Ok(T::uint(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<T, E> {
            Ok(T::float(v))
        }
        fn visit_bool<E>(self, v: bool) -> Result<T, E> {
            Ok(T::boolean(v))
        }
        fn visit_unit<E>(self) -> Result<T, E> {
            Ok(T::other())
        }
        fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<T, M::Error> {
            while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(T::other())
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<T, S::Error> {
            while s.next_element::<IgnoredAny>()?.is_some() {}
            Ok(T::other())
        }
    }

    /// Text: a string as is, a number or bool as written, anything else "".
    struct Text(String);

    impl Lenient for Text {
        fn string(s: &str) -> Self {
            Text(s.to_owned())
        }
        fn int(n: i64) -> Self {
            Text(n.to_string())
        }
        fn uint(n: u64) -> Self {
            Text(n.to_string())
        }
        fn float(f: f64) -> Self {
            Text(serde_json::Number::from_f64(f).map(|n| n.to_string()).unwrap_or_default())
        }
        fn boolean(b: bool) -> Self {
            Text(b.to_string())
        }
        fn other() -> Self {
            Text(String::new())
        }
    }

    /// An integer: a whole number, or a numeric string; anything else None.
    struct Int(Option<i64>);

    impl Lenient for Int {
        fn string(s: &str) -> Self {
            Int(s.trim().parse().ok())
        }
        fn int(n: i64) -> Self {
            Int(Some(n))
        }
        fn uint(n: u64) -> Self {
            Int(Some(i64::try_from(n).unwrap_or(n as f64 as i64)))
        }
        fn float(f: f64) -> Self {
            Int((f.fract() == 0.0).then_some(f as i64))
        }
        fn boolean(_: bool) -> Self {
            Int(None)
        }
        fn other() -> Self {
            Int(None)
        }
    }

    /// A string, number or bool as text; `null` or absent as "".
    pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(d.deserialize_any(Reader::<Text>(std::marker::PhantomData))?.0)
    }

    /// An integer from a JSON number or a numeric string; anything else is absent.
    pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(d.deserialize_any(Reader::<Int>(std::marker::PhantomData))?.0)
    }

    /// A list; `null` as empty.
    pub(crate) fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

// ------------------------------------------------------------ requests

/// Body of `POST /v2/{pid}/factory/release-packages`.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct ListPackagesBody {
    /// Keyword in the package name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_word: Option<String>,
    /// Applicant names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_user_name_filter: Option<Vec<String>>,
    /// Releaser names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_user_name_filter: Option<Vec<String>>,
    /// Application window start, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_begin_time: Option<i64>,
    /// Application window end, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_end_time: Option<i64>,
    /// Release window start, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_begin_time: Option<i64>,
    /// Release window end, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_end_time: Option<i64>,
    /// Any of these deploy_status values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_status_filter: Option<Vec<i64>>,
    /// `asc` or `desc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorted_direction: Option<&'static str>,
    /// `apply_timestamp` or `deploy_timestamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_column: Option<&'static str>,
    /// Page size.
    pub limit: u32,
    /// Rows to skip (always a multiple of `limit`).
    pub offset: u32,
}

/// Body of `POST /v2/{pid}/factory/release-packages/deploy`.
#[derive(Debug, Serialize)]
pub(super) struct DeployBody {
    /// Package ids.
    pub package_ids: Vec<String>,
    /// 1 start jobs after release, 0 do not.
    pub startup_mode: i64,
}

/// Body of `POST /v2/{pid}/factory/pending-items/package`.
#[derive(Debug, Serialize)]
pub(super) struct PackageItemsBody {
    /// The packager's user id.
    pub apply_user_id: String,
    /// Package name.
    pub package_name: String,
    /// Pending item ids.
    pub pending_item_list: Vec<String>,
    /// Approver user ids (workspace admins or deployers, not the packager).
    pub approver_ids: Vec<String>,
}

// ------------------------------------------------------------ responses

/// A list answer: `total` plus its rows, raw (each kept as its text for
/// VIEW_FULL and read into its typed form by the caller) or typed (read in
/// one pass). The rows' key differs per list.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(super) struct Listing<T = Raw> {
    /// Matching rows.
    #[serde(default, deserialize_with = "de::int")]
    pub total: Option<i64>,
    /// Release packages and pending items.
    #[serde(default, deserialize_with = "de::list")]
    pub data: Vec<T>,
    /// Scripts (v2).
    #[serde(default, deserialize_with = "de::list")]
    pub scripts: Vec<T>,
    /// Jobs (v2).
    #[serde(default, deserialize_with = "de::list")]
    pub jobs: Vec<T>,
}

/// A typed row of a list answer and, when it was kept (VIEW_FULL), its
/// raw JSON. Read as a row of a [`Listing`], it is the typed row alone, so
/// a page read without records lands in its vector in one pass.
#[derive(Debug)]
pub(super) struct Row<T>(pub T, pub Option<Raw>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Row<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|t| Row(t, None))
    }
}

/// Typed rows of a list answer, each with its raw JSON when it was kept.
pub(super) type Rows<T> = Vec<Row<T>>;

/// The key of a list answer's rows.
#[derive(Debug, Clone, Copy)]
pub(super) enum RowsKey {
    /// `data`: release packages, pending items.
    Data,
    /// `scripts`.
    Scripts,
    /// `jobs`.
    Jobs,
}

impl<T> Listing<T> {
    /// The rows under `key`.
    pub(super) fn take(self, key: RowsKey) -> Vec<T> {
        match key {
            RowsKey::Data => self.data,
            RowsKey::Scripts => self.scripts,
            RowsKey::Jobs => self.jobs,
        }
    }
}

/// `GET /v2/{pid}/{workspace_id}/users` (ListWorkspaceusers, vendor-apis.md 2.7).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Members {
    /// Members in the workspace.
    #[serde(deserialize_with = "de::int")]
    pub count: Option<i64>,
    /// The members of this page.
    #[serde(deserialize_with = "de::list")]
    pub data: Vec<Member>,
}

/// One workspace member.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct Member {
    /// User id (what `approver_ids` takes).
    #[serde(deserialize_with = "de::text")]
    pub user_id: String,
    /// User name.
    #[serde(deserialize_with = "de::text")]
    pub user_name: String,
    /// 0 user, 1 user group.
    #[serde(rename = "type", deserialize_with = "de::int")]
    pub kind: Option<i64>,
    /// Workspace roles.
    #[serde(deserialize_with = "de::list")]
    pub roles: Vec<MemberRole>,
}

/// A workspace role of a member.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct MemberRole {
    /// Role code.
    #[serde(deserialize_with = "de::text")]
    pub role_code: String,
    /// Role name.
    #[serde(deserialize_with = "de::text")]
    pub role_name: String,
}

/// A user reference (`package_approvers[]`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct UserRef {
    /// User id.
    #[serde(deserialize_with = "de::text")]
    pub user_id: String,
    /// User name.
    #[serde(deserialize_with = "de::text")]
    pub user_name: String,
}

/// A release package (list row, or `release_package` of the detail).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct Package {
    /// Id (a string here, an integer in the deploy reply).
    #[serde(deserialize_with = "de::text")]
    pub package_id: String,
    /// Name.
    #[serde(deserialize_with = "de::text")]
    pub package_name: String,
    /// 1 pending approval, 2 succeeded, 3 failed, 5 releasing.
    #[serde(deserialize_with = "de::int")]
    pub deploy_status: Option<i64>,
    /// Applicant id.
    #[serde(deserialize_with = "de::text")]
    pub apply_user_id: String,
    /// Applicant name.
    #[serde(deserialize_with = "de::text")]
    pub apply_user_name: String,
    /// Application time, ms.
    #[serde(deserialize_with = "de::int")]
    pub apply_timestamp: Option<i64>,
    /// Releaser id.
    #[serde(deserialize_with = "de::text")]
    pub deploy_user_id: String,
    /// Releaser name.
    #[serde(deserialize_with = "de::text")]
    pub deploy_user_name: String,
    /// Release time, ms.
    #[serde(deserialize_with = "de::int")]
    pub deploy_timestamp: Option<i64>,
    /// 1 = deleted.
    #[serde(deserialize_with = "de::int")]
    pub delete_flag: Option<i64>,
    /// Approvers.
    #[serde(deserialize_with = "de::list")]
    pub package_approvers: Vec<UserRef>,
}

/// One `task_details[]` entry of a package.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct TaskDetail {
    /// Pending item id.
    #[serde(deserialize_with = "de::text")]
    pub pending_item_id: String,
    /// Job or script name.
    #[serde(deserialize_with = "de::text")]
    pub item_name: String,
    /// 1 job, 2 script, 3 resource.
    #[serde(deserialize_with = "de::int")]
    pub task_type: Option<i64>,
    /// 1 added, 2 modified, 3 deleted.
    #[serde(deserialize_with = "de::int")]
    pub update_type: Option<i64>,
    /// Version being released.
    #[serde(deserialize_with = "de::int")]
    pub pending_version: Option<i64>,
    /// Version in production before.
    #[serde(deserialize_with = "de::int")]
    pub deployed_version: Option<i64>,
    /// 1/2/3/5 as the package.
    #[serde(deserialize_with = "de::int")]
    pub deploy_status: Option<i64>,
    /// 2 started, 3 failed to start.
    #[serde(deserialize_with = "de::int")]
    pub start_job_status: Option<i64>,
    /// Submitter id.
    #[serde(deserialize_with = "de::text")]
    pub submit_user_id: String,
    /// Submitter name.
    #[serde(deserialize_with = "de::text")]
    pub submit_user_name: String,
    /// Submit time, ms.
    #[serde(deserialize_with = "de::int")]
    pub submit_timestamp: Option<i64>,
}

/// `GET /v2/{pid}/factory/release-packages/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PackageDetail {
    /// The package.
    pub release_package: Option<Package>,
    /// Its items.
    #[serde(deserialize_with = "de::list")]
    pub task_details: Vec<TaskDetail>,
}

/// One `deploy_package_details[]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DeployDetail {
    /// Package id (an integer here).
    #[serde(deserialize_with = "de::text")]
    pub package_id: String,
    /// Async task id.
    #[serde(deserialize_with = "de::text")]
    pub asy_task_id: String,
    /// Async subtasks.
    #[serde(deserialize_with = "de::int")]
    pub asy_subtask_num: Option<i64>,
}

/// `POST .../release-packages/deploy`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DeployReply {
    /// One per package.
    #[serde(deserialize_with = "de::list")]
    pub deploy_package_details: Vec<DeployDetail>,
}

/// A pending item.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct PendingItem {
    /// Id.
    #[serde(deserialize_with = "de::text")]
    pub pending_item_id: String,
    /// Job or script name.
    #[serde(deserialize_with = "de::text")]
    pub item_name: String,
    /// 1 job, 2 script.
    #[serde(deserialize_with = "de::int")]
    pub task_type: Option<i64>,
    /// Version waiting for release.
    #[serde(deserialize_with = "de::int")]
    pub pending_version: Option<i64>,
    /// 0 = not yet packaged.
    #[serde(deserialize_with = "de::int")]
    pub package_flag: Option<i64>,
    /// Submitter id.
    #[serde(deserialize_with = "de::text")]
    pub submit_user_id: String,
}

/// `POST .../pending-items/package`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PackageCreated {
    /// Name.
    #[serde(deserialize_with = "de::text")]
    pub package_name: String,
    /// The new package's id.
    #[serde(deserialize_with = "de::text")]
    pub release_package_id: String,
}

/// A v2 script list row.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct ScriptRow {
    /// v2 id.
    #[serde(deserialize_with = "de::text")]
    pub id: String,
    /// Name (unique in the workspace).
    #[serde(deserialize_with = "de::text")]
    pub name: String,
    /// HiveSQL, Shell, ...
    #[serde(rename = "type", deserialize_with = "de::text")]
    pub kind: String,
    /// Folder.
    #[serde(deserialize_with = "de::text")]
    pub directory: String,
    /// Creator name.
    #[serde(deserialize_with = "de::text")]
    pub create_user: String,
    /// Owner name.
    #[serde(deserialize_with = "de::text")]
    pub owner: String,
    /// Description.
    #[serde(deserialize_with = "de::text")]
    pub description: String,
    /// Data connection.
    #[serde(deserialize_with = "de::text")]
    pub connection_name: String,
    /// Last change, ms.
    #[serde(deserialize_with = "de::int")]
    pub modify_time: Option<i64>,
    /// Latest submitted version.
    #[serde(deserialize_with = "de::int")]
    pub version: Option<i64>,
}

/// A v2 job list row (no id field).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct JobRow {
    /// Name (unique in the workspace).
    #[serde(deserialize_with = "de::text")]
    pub name: String,
    /// BATCH or REAL_TIME.
    #[serde(deserialize_with = "de::text")]
    pub job_type: String,
    /// Scheduling status.
    #[serde(deserialize_with = "de::text")]
    pub status: String,
    /// Owner name.
    #[serde(deserialize_with = "de::text")]
    pub owner: String,
    /// Creator name.
    #[serde(deserialize_with = "de::text")]
    pub create_user: String,
    /// Last editor name.
    #[serde(deserialize_with = "de::text")]
    pub last_update_user: String,
    /// Folder.
    #[serde(deserialize_with = "de::text")]
    pub path: String,
    /// Creation, ms.
    #[serde(deserialize_with = "de::int")]
    pub create_time: Option<i64>,
    /// Last change, ms.
    #[serde(deserialize_with = "de::int")]
    pub last_update_time: Option<i64>,
}

/// `GET /v1/{pid}/scripts/{name}` (camelCase).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ScriptDetail {
    /// Name.
    #[serde(deserialize_with = "de::text")]
    pub name: String,
    /// Type.
    #[serde(rename = "type", deserialize_with = "de::text")]
    pub kind: String,
    /// Folder.
    #[serde(deserialize_with = "de::text")]
    pub directory: String,
    /// The code.
    #[serde(deserialize_with = "de::text")]
    pub content: String,
    /// Data connection.
    #[serde(deserialize_with = "de::text")]
    pub connection_name: String,
    /// Description.
    #[serde(deserialize_with = "de::text")]
    pub description: String,
}

/// `basicConfig` of a v1 job.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct JobBasicConfig {
    /// Owner name.
    #[serde(deserialize_with = "de::text")]
    pub owner: String,
}

/// `GET /v1/{pid}/jobs/{name}` (camelCase); the whole body is the job's content.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct JobDetail {
    /// Name.
    #[serde(deserialize_with = "de::text")]
    pub name: String,
    /// Folder.
    #[serde(deserialize_with = "de::text")]
    pub directory: String,
    /// BATCH or REAL_TIME.
    #[serde(deserialize_with = "de::text")]
    pub job_type: String,
    /// Last editor name.
    #[serde(deserialize_with = "de::text")]
    pub last_update_user: String,
    /// Owner and more.
    pub basic_config: Option<JobBasicConfig>,
}

/// `GET /v1/{pid}/system-tasks/{id}` (camelCase; times typed loosely).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct SystemTask {
    /// RUNNING, SUCCESSFUL or FAILED.
    #[serde(deserialize_with = "de::text")]
    pub status: String,
    /// Why it failed.
    #[serde(deserialize_with = "de::text")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields_read_every_kind_of_value() {
        #[derive(Deserialize)]
        struct F {
            #[serde(deserialize_with = "de::text")]
            t: String,
            #[serde(deserialize_with = "de::int")]
            i: Option<i64>,
        }
        let read = |t: &str, i: &str| {
            let f: F = serde_json::from_str(&format!(r#"{{"t": {t}, "i": {i}, "after": 1}}"#)).unwrap();
            (f.t, f.i)
        };
        assert_eq!(read(r#""a\"b""#, "7"), (r#"a"b"#.into(), Some(7)));
        assert_eq!(read("12", r#"" 42 ""#), ("12".into(), Some(42)));
        assert_eq!(read("1.5", "2.0"), ("1.5".into(), Some(2)));
        assert_eq!(read("true", "2.5"), ("true".into(), None));
        assert_eq!(read("null", "null"), (String::new(), None));
        assert_eq!(read(r#"{"x": [1, {"y": 2}]}"#, r#"["3"]"#), (String::new(), None));
        assert_eq!(
            read("18446744073709551615", "18446744073709551615"),
            ("18446744073709551615".into(), Some(i64::MAX))
        );
        assert_eq!(read(r#""""#, r#""x""#), (String::new(), None));
    }

    #[test]
    fn lenient_reads_and_compact_requests() {
        let p: Package = serde_json::from_str(
            r#"{"package_id": 23, "deploy_status": "5", "apply_timestamp": 1.7e12, "deploy_user_name": null, "package_approvers": null}"#,
        )
        .unwrap();
        assert_eq!(
            (p.package_id.as_str(), p.deploy_status, p.apply_timestamp),
            ("23", Some(5), Some(1_700_000_000_000))
        );
        assert!(p.deploy_user_name.is_empty() && p.package_approvers.is_empty());
        let body = serde_json::to_string(&ListPackagesBody { limit: 10, ..Default::default() }).unwrap();
        assert_eq!(body, r#"{"limit":10,"offset":0}"#);
        assert!(serde_json::from_str::<Listing>(r#"{"total": 1, "data": {"x": 1}}"#).is_err(), "data must be a list");
    }
}
