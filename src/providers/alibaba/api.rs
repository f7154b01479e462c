//! The DataWorks APIs the driver calls: each declares whether it reads or
//! writes, and how it takes its parameters.

use crate::providers::client::{Access, Action};

/// A DataWorks OpenAPI action (API version 2024-05-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Legacy: list deployment packages.
    ListDeploymentPackages,
    /// Legacy: one deployment package and its files.
    GetDeploymentPackage,
    /// Legacy: deploy a file's latest committed version (one package).
    DeployFile,
    /// Pipeline: list runs.
    ListPipelineRuns,
    /// Pipeline: one run and its stages.
    GetPipelineRun,
    /// Pipeline: the objects of a run.
    ListPipelineRunItems,
    /// Pipeline: create a run for objects.
    CreatePipelineRun,
    /// Pipeline: start one stage of a run.
    ExecPipelineRunStage,
    /// Pipeline: stop a run.
    AbolishPipelineRun,
    /// Files.
    ListFiles,
    /// One file.
    GetFile,
    /// A file's versions.
    ListFileVersions,
    /// One version of a file.
    GetFileVersion,
}

/// How an action takes its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// POST, parameters in the form body.
    Form,
    /// GET, parameters in the query.
    Query,
}

impl Api {
    /// How the official SDK sends this action's parameters.
    pub(crate) fn placement(self) -> Placement {
        match self {
            Api::ListPipelineRuns | Api::GetPipelineRun | Api::ListPipelineRunItems => Placement::Query,
            Api::ListDeploymentPackages
            | Api::GetDeploymentPackage
            | Api::DeployFile
            | Api::CreatePipelineRun
            | Api::ExecPipelineRunStage
            | Api::AbolishPipelineRun
            | Api::ListFiles
            | Api::GetFile
            | Api::ListFileVersions
            | Api::GetFileVersion => Placement::Form,
        }
    }
}

impl Action for Api {
    const ALL: &'static [Api] = &[
        Api::ListDeploymentPackages,
        Api::GetDeploymentPackage,
        Api::DeployFile,
        Api::ListPipelineRuns,
        Api::GetPipelineRun,
        Api::ListPipelineRunItems,
        Api::CreatePipelineRun,
        Api::ExecPipelineRunStage,
        Api::AbolishPipelineRun,
        Api::ListFiles,
        Api::GetFile,
        Api::ListFileVersions,
        Api::GetFileVersion,
    ];

    fn name(self) -> &'static str {
        match self {
            Api::ListDeploymentPackages => "ListDeploymentPackages",
            Api::GetDeploymentPackage => "GetDeploymentPackage",
            Api::DeployFile => "DeployFile",
            Api::ListPipelineRuns => "ListPipelineRuns",
            Api::GetPipelineRun => "GetPipelineRun",
            Api::ListPipelineRunItems => "ListPipelineRunItems",
            Api::CreatePipelineRun => "CreatePipelineRun",
            Api::ExecPipelineRunStage => "ExecPipelineRunStage",
            Api::AbolishPipelineRun => "AbolishPipelineRun",
            Api::ListFiles => "ListFiles",
            Api::GetFile => "GetFile",
            Api::ListFileVersions => "ListFileVersions",
            Api::GetFileVersion => "GetFileVersion",
        }
    }

    fn access(self) -> Access {
        match self {
            Api::DeployFile | Api::CreatePipelineRun | Api::ExecPipelineRunStage | Api::AbolishPipelineRun => {
                Access::Write
            }
            Api::ListDeploymentPackages
            | Api::GetDeploymentPackage
            | Api::ListPipelineRuns
            | Api::GetPipelineRun
            | Api::ListPipelineRunItems
            | Api::ListFiles
            | Api::GetFile
            | Api::ListFileVersions
            | Api::GetFileVersion => Access::Read,
        }
    }
}
