//! What a workspace supports, keyed by typed operations and filters: the
//! drivers declare it, the API checks requests against it, and
//! `GetWorkspace` shows it (the only place the keys become text).

use std::collections::BTreeMap;

use crate::pb;

/// A neutral RPC a workspace may or may not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Operation {
    /// ReleaseService/ListReleasePackages.
    ListReleasePackages,
    /// ReleaseService/GetReleasePackage.
    GetReleasePackage,
    /// ReleaseService/DeployReleasePackages.
    DeployReleasePackages,
    /// ReleaseService/DeployFiles.
    DeployFiles,
    /// ReleaseService/GetDeployment.
    GetDeployment,
    /// ReleaseService/WatchDeployment.
    WatchDeployment,
    /// ReleaseService/CancelDeployment.
    CancelDeployment,
    /// FileService/ListFiles.
    ListFiles,
    /// FileService/GetFile.
    GetFile,
    /// FileService/ListFileVersions.
    ListFileVersions,
    /// FileService/GetFileVersion.
    GetFileVersion,
}

impl Operation {
    /// Every operation (tests: each driver declares them all).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) const ALL: [Operation; 11] = [
        Operation::ListReleasePackages,
        Operation::GetReleasePackage,
        Operation::DeployReleasePackages,
        Operation::DeployFiles,
        Operation::GetDeployment,
        Operation::WatchDeployment,
        Operation::CancelDeployment,
        Operation::ListFiles,
        Operation::GetFile,
        Operation::ListFileVersions,
        Operation::GetFileVersion,
    ];

    /// The full gRPC method name.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Operation::ListReleasePackages => "datastudio.v1.ReleaseService/ListReleasePackages",
            Operation::GetReleasePackage => "datastudio.v1.ReleaseService/GetReleasePackage",
            Operation::DeployReleasePackages => "datastudio.v1.ReleaseService/DeployReleasePackages",
            Operation::DeployFiles => "datastudio.v1.ReleaseService/DeployFiles",
            Operation::GetDeployment => "datastudio.v1.ReleaseService/GetDeployment",
            Operation::WatchDeployment => "datastudio.v1.ReleaseService/WatchDeployment",
            Operation::CancelDeployment => "datastudio.v1.ReleaseService/CancelDeployment",
            Operation::ListFiles => "datastudio.v1.FileService/ListFiles",
            Operation::GetFile => "datastudio.v1.FileService/GetFile",
            Operation::ListFileVersions => "datastudio.v1.FileService/ListFileVersions",
            Operation::GetFileVersion => "datastudio.v1.FileService/GetFileVersion",
        }
    }

    /// Whether it deploys (turned off by `deploy_enabled: false`).
    pub(crate) fn deploys(self) -> bool {
        match self {
            Operation::DeployReleasePackages | Operation::DeployFiles | Operation::CancelDeployment => true,
            Operation::ListReleasePackages
            | Operation::GetReleasePackage
            | Operation::GetDeployment
            | Operation::WatchDeployment
            | Operation::ListFiles
            | Operation::GetFile
            | Operation::ListFileVersions
            | Operation::GetFileVersion => false,
        }
    }
}

/// A filter of ListReleasePackages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PackageFilter {
    /// `keyword`.
    Keyword,
    /// `states`.
    States,
    /// `creators`.
    Creators,
    /// `executors`.
    Executors,
    /// `create_time`.
    CreateTime,
    /// `execute_time`.
    ExecuteTime,
    /// `order_by`.
    OrderBy,
}

impl PackageFilter {
    /// Every filter, in field order (tests and the in-memory driver).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) const ALL: [PackageFilter; 7] = [
        PackageFilter::Keyword,
        PackageFilter::States,
        PackageFilter::Creators,
        PackageFilter::Executors,
        PackageFilter::CreateTime,
        PackageFilter::ExecuteTime,
        PackageFilter::OrderBy,
    ];

    /// The request field.
    pub(crate) fn field(self) -> &'static str {
        match self {
            PackageFilter::Keyword => "keyword",
            PackageFilter::States => "states",
            PackageFilter::Creators => "creators",
            PackageFilter::Executors => "executors",
            PackageFilter::CreateTime => "create_time",
            PackageFilter::ExecuteTime => "execute_time",
            PackageFilter::OrderBy => "order_by",
        }
    }
}

/// A filter of ListFiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FileFilter {
    /// `folder_path`.
    FolderPath,
    /// `keyword`.
    Keyword,
    /// `exact_name`.
    ExactName,
    /// `use_type`.
    UseType,
    /// `file_types`.
    FileTypes,
    /// `owner`.
    Owner,
    /// `node_id`.
    NodeId,
    /// `include_content`.
    IncludeContent,
    /// `include_folder_path`.
    IncludeFolderPath,
    /// `file_ids`.
    FileIds,
    /// `last_editor`.
    LastEditor,
    /// `commit_status`.
    CommitStatus,
}

impl FileFilter {
    /// Every filter, in field order (tests and the in-memory driver).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) const ALL: [FileFilter; 12] = [
        FileFilter::FolderPath,
        FileFilter::Keyword,
        FileFilter::ExactName,
        FileFilter::UseType,
        FileFilter::FileTypes,
        FileFilter::Owner,
        FileFilter::NodeId,
        FileFilter::IncludeContent,
        FileFilter::IncludeFolderPath,
        FileFilter::FileIds,
        FileFilter::LastEditor,
        FileFilter::CommitStatus,
    ];

    /// The request field.
    pub(crate) fn field(self) -> &'static str {
        match self {
            FileFilter::FolderPath => "folder_path",
            FileFilter::Keyword => "keyword",
            FileFilter::ExactName => "exact_name",
            FileFilter::UseType => "use_type",
            FileFilter::FileTypes => "file_types",
            FileFilter::Owner => "owner",
            FileFilter::NodeId => "node_id",
            FileFilter::IncludeContent => "include_content",
            FileFilter::IncludeFolderPath => "include_folder_path",
            FileFilter::FileIds => "file_ids",
            FileFilter::LastEditor => "last_editor",
            FileFilter::CommitStatus => "commit_status",
        }
    }
}

/// A list filter of either list RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Filter {
    /// Of ListReleasePackages.
    Package(PackageFilter),
    /// Of ListFiles.
    File(FileFilter),
}

impl Filter {
    /// The request field (`owner`).
    pub(crate) fn field(self) -> &'static str {
        match self {
            Filter::Package(f) => f.field(),
            Filter::File(f) => f.field(),
        }
    }

    /// `Request.field`, as `GetWorkspace` names it.
    fn qualified(self) -> String {
        match self {
            Filter::Package(f) => format!("ListReleasePackagesRequest.{}", f.field()),
            Filter::File(f) => format!("ListFilesRequest.{}", f.field()),
        }
    }
}

/// How a workspace handles an operation or a filter, with a note for callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Support<T> {
    /// Supported (operations), or who applies it (filters).
    pub how: T,
    /// What callers should know (vendor API, cost, why not).
    pub note: String,
}

/// What a workspace supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    operations: BTreeMap<Operation, Support<bool>>,
    filters: BTreeMap<Filter, Support<pb::FilterHandling>>,
}

impl Capabilities {
    /// Declares an operation.
    pub(crate) fn operation(&mut self, op: Operation, supported: bool, note: impl Into<String>) -> &mut Self {
        self.operations.insert(op, Support { how: supported, note: note.into() });
        self
    }

    /// Declares a filter.
    pub(crate) fn filter(&mut self, f: Filter, handling: pb::FilterHandling, note: impl Into<String>) -> &mut Self {
        self.filters.insert(f, Support { how: handling, note: note.into() });
        self
    }

    /// How `op` is supported, if declared.
    pub(crate) fn get_operation(&self, op: Operation) -> Option<&Support<bool>> {
        self.operations.get(&op)
    }

    /// How `f` is handled, if declared.
    pub(crate) fn get_filter(&self, f: Filter) -> Option<&Support<pb::FilterHandling>> {
        self.filters.get(&f)
    }

    /// Turns every deploying operation off, saying why.
    pub(crate) fn disable_deploys(&mut self, note: &str) {
        for (op, s) in &mut self.operations {
            if op.deploys() {
                *s = Support { how: false, note: note.into() };
            }
        }
    }

    /// As `GetWorkspace` shows it.
    pub(crate) fn to_proto(&self) -> pb::Capabilities {
        pb::Capabilities {
            operations: self
                .operations
                .iter()
                .map(|(op, s)| pb::OperationSupport {
                    method: op.method().into(),
                    supported: s.how,
                    note: s.note.clone(),
                })
                .collect(),
            filters: self
                .filters
                .iter()
                .map(|(f, s)| pb::FilterSupport { field: f.qualified(), handling: s.how as i32, note: s.note.clone() })
                .collect(),
        }
    }
}
