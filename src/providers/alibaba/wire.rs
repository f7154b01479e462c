//! DataWorks answers as the vendor spells them (vendor-apis.md §1), read
//! straight from the body bytes: PascalCase keys, text borrowed from the
//! body, numbers accepted as numbers or numeric strings. Ids, states and
//! list totals are required (a missing one is VENDOR_RESPONSE_MALFORMED);
//! every other field may be omitted. Records that VIEW_FULL returns keep
//! their raw JSON ([`Rec`]) and become a protobuf `Struct` only on demand.

mod de;

use std::{borrow::Cow, cell::Cell, ops::Deref};

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::value::RawValue;

use crate::domain::time;

/// Optional text borrowed from the answer where it can be.
type Text<'a> = Option<Cow<'a, str>>;

/// A record and, when the answer was read for VIEW_FULL, its raw JSON.
#[derive(Debug)]
pub(crate) struct Rec<'a, T> {
    raw: Option<&'a RawValue>,
    value: T,
}

thread_local! {
    /// Whether the [`Rec`]s being read keep their raw JSON (see [`read`]).
    static KEEP_RAW: Cell<bool> = const { Cell::new(true) };
}

/// Reads `body` as `T`. Its [`Rec`]s keep their raw JSON only when
/// `records` (VIEW_FULL): keeping it means finding each record's extent
/// first and then reading the record, two passes over it instead of one.
/// The choice is passed to [`Rec`]'s reader on this thread for the length
/// of this synchronous read, since derived readers carry no state.
pub(crate) fn read<'a, T: Deserialize<'a>>(body: &'a [u8], records: bool) -> serde_json::Result<T> {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            KEEP_RAW.set(self.0);
        }
    }
    let _restore = Restore(KEEP_RAW.replace(records));
    crate::providers::client::from_json(body)
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Rec<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !KEEP_RAW.get() {
            return Ok(Rec { raw: None, value: T::deserialize(d)? });
        }
        let raw = <&'de RawValue>::deserialize(d)?;
        let value = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        Ok(Rec { raw: Some(raw), value })
    }
}

impl<T> Deref for Rec<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Rec<'_, T> {
    /// The raw record as a protobuf `Struct` when `full` (VIEW_FULL) and
    /// the answer was read with its records.
    pub(crate) fn record(&self, full: bool) -> Option<prost_types::Struct> {
        debug_assert!(!full || self.raw.is_some(), "a VIEW_FULL record from an answer read without records");
        let raw = self.raw.filter(|_| full)?;
        serde_json::from_str::<serde_json::Value>(raw.get()).ok().map(|v| time::json_to_struct(&v))
    }

    /// The value itself and its [`Rec::record`].
    pub(crate) fn split(self, full: bool) -> (T, Option<prost_types::Struct>) {
        let record = self.record(full);
        (self.value, record)
    }
}

/// A paged list answer: its rows (absent when the vendor left the key
/// out) and `TotalCount`.
pub(crate) trait Listed {
    /// One row.
    type Row;
    /// The rows' key, for error messages.
    const ROWS: &'static str;
    /// The rows and the total.
    fn split(self) -> (Option<Vec<Self::Row>>, i64);
}

/// A key of an answer's envelope: the request id and the failure fields
/// legacy operations send with HTTP 200, in either spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvelopeKey {
    /// `RequestId`.
    RequestId,
    /// `requestId`.
    RequestIdCamel,
    /// `Code`.
    Code,
    /// `code`.
    CodeCamel,
    /// `Message`.
    Message,
    /// `message`.
    MessageCamel,
    /// `Success` (legacy operations).
    Success,
    /// `HttpStatusCode` (legacy).
    HttpStatusCode,
    /// `ErrorCode` (legacy).
    ErrorCode,
    /// `ErrorMessage` (legacy).
    ErrorMessage,
}

impl EnvelopeKey {
    /// The envelope key spelled `key`, if it is one.
    fn of(key: &str) -> Option<EnvelopeKey> {
        use EnvelopeKey as K;
        Some(match key {
            "RequestId" => K::RequestId,
            "requestId" => K::RequestIdCamel,
            "Code" => K::Code,
            "code" => K::CodeCamel,
            "Message" => K::Message,
            "message" => K::MessageCamel,
            "Success" => K::Success,
            "HttpStatusCode" => K::HttpStatusCode,
            "ErrorCode" => K::ErrorCode,
            "ErrorMessage" => K::ErrorMessage,
            _ => return None,
        })
    }
}

/// An answer's envelope: the raw JSON text of its [`EnvelopeKey`]s, read
/// loosely, so an odd type there never hides the answer. The other
/// top-level values (the payload) are checked and skipped.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    values: Vec<(EnvelopeKey, String)>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = Envelope;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Envelope, M::Error> {
                let mut values = Vec::new();
                while let Some(key) = m.next_key::<Cow<'de, str>>()? {
                    match EnvelopeKey::of(&key) {
                        Some(k) => values.push((k, m.next_value::<Box<RawValue>>()?.get().to_owned())),
                        None => drop(m.next_value::<serde::de::IgnoredAny>()?),
                    }
                }
                Ok(Envelope { values })
            }
        }
        d.deserialize_map(Keys)
    }
}

impl Envelope {
    /// The raw JSON of `key` (the last one when the body repeats it).
    pub(crate) fn get(&self, key: EnvelopeKey) -> Option<&str> {
        self.values.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }
}

/// Generates a list answer `$name { $env: $page }` whose page is
/// `{TotalCount, $rows: [..]}`, with its [`Listed`] impl.
macro_rules! listing {
    ($(#[$doc:meta])* $name:ident, $page:ident, $env:ident, $rows:ident, $key:literal, $row:ty) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub(crate) struct $name<'a> {
            /// The page.
            #[serde(borrow)]
            $env: $page<'a>,
        }

        #[doc = concat!("The page of ", stringify!($name), ".")]
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub(crate) struct $page<'a> {
            /// Matching rows in all pages.
            #[serde(deserialize_with = "de::int")]
            total_count: i64,
            /// This page's rows.
            #[serde(borrow)]
            $rows: Option<Vec<$row>>,
        }

        impl<'a> Listed for $name<'a> {
            type Row = $row;
            const ROWS: &'static str = $key;
            fn split(self) -> (Option<Vec<$row>>, i64) {
                (self.$env.$rows, self.$env.total_count)
            }
        }
    };
}

// The files' answers (after the macro they use).
mod files;

pub(crate) use self::files::{File, FileVersion, GetFile, GetFileVersion, ListFileVersions, ListFiles};

// Data Studio objects and their snapshots (pipeline flavour).
pub(crate) mod studio;

// ------------------------------------------------------------ legacy release

listing!(
    /// ListDeploymentPackages: `Data{TotalCount, Deployments[]}`.
    ListDeploymentPackages, DeploymentPage, data, deployments, "Data.Deployments", Rec<'a, PackageRow<'a>>
);

/// A ListDeploymentPackages row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PackageRow<'a> {
    /// Package id.
    #[serde(deserialize_with = "de::int")]
    pub(crate) id: i64,
    /// Package name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) name: Text<'a>,
    /// 0 ready, 1 deployed, 2 failed, 6 rejected.
    #[serde(deserialize_with = "de::int")]
    pub(crate) status: i64,
    /// Creator's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) creator: Text<'a>,
    /// Executor's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) executor: Text<'a>,
    /// Creation, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Execution, ms (0 before it ran).
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) execute_time: Option<i64>,
    /// Why it failed.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) error_message: Text<'a>,
}

/// GetDeploymentPackage: `Data{Deployment, DeployedItems[]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetDeploymentPackage<'a> {
    /// The package (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) data: Rec<'a, PackageData<'a>>,
}

/// `Data` of GetDeploymentPackage.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PackageData<'a> {
    /// The package (no id: the request's DeploymentId is it).
    #[serde(borrow)]
    pub(crate) deployment: Package<'a>,
    /// Its files.
    #[serde(default)]
    pub(crate) deployed_items: Option<Vec<DeployedItem>>,
}

/// `Data.Deployment` of GetDeploymentPackage.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Package<'a> {
    /// Package name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) name: Text<'a>,
    /// 0 ready, 1 deployed, 2 failed, 6 rejected.
    #[serde(deserialize_with = "de::int")]
    pub(crate) status: i64,
    /// 7 check failed, 8 check running; absent when no check is pending.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) checking_status: Option<i64>,
    /// Creator's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) creator_id: Text<'a>,
    /// Executor's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) handler_id: Text<'a>,
    /// Creation, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Execution, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) execute_time: Option<i64>,
    /// Why it failed.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) error_message: Text<'a>,
    /// 0 local, 1 development.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) from_environment: Option<i64>,
    /// 1 development, 2 production.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) to_environment: Option<i64>,
}

/// A `DeployedItems[]` entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeployedItem {
    /// The file.
    #[serde(deserialize_with = "de::int")]
    pub(crate) file_id: i64,
    /// The version deployed.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) file_version: Option<i64>,
    /// 0 unpublished, 1 success, 2 error, 3 cloned, 4 deploy error, 5 cloning, 6 rejected.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) status: Option<i64>,
}

/// DeployFile: `Data` is the new package's id.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeployFile {
    /// The deployment package created.
    #[serde(deserialize_with = "de::int")]
    pub(crate) data: i64,
}

// ------------------------------------------------------------ pipeline release

listing!(
    /// ListPipelineRuns: `PagingInfo{TotalCount, PipelineRuns[]}`.
    ListPipelineRuns, RunPage, paging_info, pipeline_runs, "PagingInfo.PipelineRuns", Rec<'a, Run<'a>>
);

/// GetPipelineRun: `Pipeline{..., Stages[]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetPipelineRun<'a> {
    /// The run (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) pipeline: Rec<'a, Run<'a>>,
}

/// A pipeline run (GetPipelineRun `Pipeline`, ListPipelineRuns row).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Run<'a> {
    /// Run id (UUID-like).
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) id: Cow<'a, str>,
    /// Init, Running, Success, Fail, Termination, Cancel.
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) status: Cow<'a, str>,
    /// Creator's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) creator: Text<'a>,
    /// Free text (the run has no name).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) description: Text<'a>,
    /// Error message.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) message: Text<'a>,
    /// Creation, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Last change, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) modify_time: Option<i64>,
    /// Stages, run one by one in order.
    #[serde(default, borrow)]
    pub(crate) stages: Option<Vec<Stage<'a>>>,
}

/// A `Stages[]` entry of a run.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Stage<'a> {
    /// Stage code for ExecPipelineRunStage (DEV_CHECK, PROD, ...).
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) code: Cow<'a, str>,
    /// Same values as the run's.
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) status: Cow<'a, str>,
    /// Order.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) step: Option<i64>,
    /// Display name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) name: Text<'a>,
    /// Deploy, Check, Offline, Build, Delete.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) r#type: Text<'a>,
    /// Error message.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) message: Text<'a>,
}

listing!(
    /// ListPipelineRunItems: `PagingInfo{TotalCount, PipelineRunItems[]}`.
    ListPipelineRunItems, RunItemPage, paging_info, pipeline_run_items, "PagingInfo.PipelineRunItems", RunItem<'a>
);

/// A ListPipelineRunItems row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RunItem<'a> {
    /// Object id (a string; a number before SDK 8.0.0).
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) id: Cow<'a, str>,
    /// Object name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) name: Text<'a>,
    /// Node, WorkflowDefinition, Resource, Function (another value: None).
    #[serde(default, deserialize_with = "de::opt_known")]
    pub(crate) r#type: Option<studio::ObjectKind>,
    /// Object version.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) version: Option<i64>,
    /// Same values as the run's.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) status: Text<'a>,
}

/// CreatePipelineRun: the new run's `Id`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreatePipelineRun<'a> {
    /// Run id.
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) id: Cow<'a, str>,
}

#[cfg(test)]
mod tests;
