//! File answers, the same in both flavours: ListFiles, GetFile,
//! ListFileVersions, GetFileVersion (vendor-apis.md 1.6-1.8).

use serde::Deserialize;

use super::{Listed, Rec, Text, de};

listing!(
    /// ListFiles: `Data{TotalCount, Files[]}`.
    ListFiles, FilePage, data, files, "Data.Files", Rec<'a, File<'a>>
);

/// GetFile: `Data{File, NodeConfiguration, ResourceDownloadLink}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetFile<'a> {
    /// The file and its settings (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) data: Rec<'a, FileData<'a>>,
}

/// `Data` of GetFile.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FileData<'a> {
    /// The file.
    #[serde(borrow)]
    pub(crate) file: File<'a>,
}

/// A file (ListFiles row, GetFile `Data.File`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct File<'a> {
    /// File id.
    #[serde(deserialize_with = "de::int")]
    pub(crate) file_id: i64,
    /// Name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_name: Text<'a>,
    /// Type code (10 ODPS SQL, 6 Shell, ...), kept as text.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_type: Text<'a>,
    /// Folder path (only with NeedAbsoluteFolderPath).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) absolute_folder_path: Text<'a>,
    /// Folder id.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_folder_id: Text<'a>,
    /// Description.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_description: Text<'a>,
    /// Owner's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) owner: Text<'a>,
    /// Creator's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) create_user: Text<'a>,
    /// Creation, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Last editor's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) last_edit_user: Text<'a>,
    /// Last edit, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) last_edit_time: Option<i64>,
    /// Latest committed version.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) current_version: Option<i64>,
    /// 0 latest code not committed, 1 committed.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) commit_status: Option<i64>,
    /// Scheduler node id.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) node_id: Option<i64>,
    /// Workflow id.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) business_id: Option<i64>,
    /// Data source.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) connection_name: Text<'a>,
    /// NORMAL, MANUAL, ... (or their numeric aliases).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) use_type: Text<'a>,
    /// The code (GetFile; ListFiles with NeedContent).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) content: Text<'a>,
    /// NORMAL, RECYCLE_BIN, DELETED (GetFile).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) deleted_status: Text<'a>,
}

listing!(
    /// ListFileVersions: `Data{TotalCount, FileVersions[]}`.
    ListFileVersions, VersionPage, data, file_versions, "Data.FileVersions", Rec<'a, FileVersion<'a>>
);

/// GetFileVersion: the version is `Data`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetFileVersion<'a> {
    /// The version (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) data: Rec<'a, FileVersion<'a>>,
}

/// A file version (ListFileVersions row, GetFileVersion `Data`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FileVersion<'a> {
    /// Version number.
    #[serde(deserialize_with = "de::int")]
    pub(crate) file_version: i64,
    /// File name at that version.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_name: Text<'a>,
    /// Code at that version.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) file_content: Text<'a>,
    /// Commit comment.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) comment: Text<'a>,
    /// Committer's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) commit_user: Text<'a>,
    /// Commit, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) commit_time: Option<i64>,
    /// CREATE, UPDATE, DELETE.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) change_type: Text<'a>,
    /// COMMITTING, COMMITTED, CHECK_OK, PACKAGED, DEPLOYING, DEPLOYED, CANCELLED.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) status: Text<'a>,
    /// Whether this version is live in production.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub(crate) is_current_prod: Option<bool>,
    /// Scheduler node id.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) node_id: Option<i64>,
    /// Scheduling settings (JSON text).
    #[serde(default, borrow, deserialize_with = "de::opt_json_text")]
    pub(crate) node_content: Text<'a>,
    /// File properties (JSON text).
    #[serde(default, borrow, deserialize_with = "de::opt_json_text")]
    pub(crate) file_property_content: Text<'a>,
    /// NORMAL, MANUAL, ... (or their numeric aliases).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) use_type: Text<'a>,
}
