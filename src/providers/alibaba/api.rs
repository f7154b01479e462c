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
    /// Data Studio: list nodes.
    ListNodes,
    /// Data Studio: one node and its FlowSpec.
    GetNode,
    /// Data Studio: list workflow definitions (one Type a call).
    ListWorkflowDefinitions,
    /// Data Studio: one workflow definition and its FlowSpec.
    GetWorkflowDefinition,
    /// Data Studio: list resources.
    ListResources,
    /// Data Studio: one resource and its FlowSpec.
    GetResource,
    /// Data Studio: list functions.
    ListFunctions,
    /// Data Studio: one function and its FlowSpec.
    GetFunction,
    /// Data Studio: an object's snapshots (its version history).
    ListSnapshots,
    /// Data Studio: one snapshot and its content.
    GetSnapshot,
}

/// How an action takes its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// POST, parameters in the form body.
    Form,
    /// GET, parameters in the query.
    Query,
    /// POST, parameters in the query, empty body (no content type).
    QueryPost,
}

impl Api {
    /// How the official SDK sends this action's parameters.
    pub(crate) fn placement(self) -> Placement {
        match self {
            Api::ListPipelineRuns
            | Api::GetPipelineRun
            | Api::ListPipelineRunItems
            | Api::ListNodes
            | Api::GetNode
            | Api::ListWorkflowDefinitions
            | Api::GetWorkflowDefinition
            | Api::ListResources
            | Api::GetResource
            | Api::ListFunctions
            | Api::GetFunction => Placement::Query,
            Api::ListSnapshots | Api::GetSnapshot => Placement::QueryPost,
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
        Api::ListNodes,
        Api::GetNode,
        Api::ListWorkflowDefinitions,
        Api::GetWorkflowDefinition,
        Api::ListResources,
        Api::GetResource,
        Api::ListFunctions,
        Api::GetFunction,
        Api::ListSnapshots,
        Api::GetSnapshot,
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
            Api::ListNodes => "ListNodes",
            Api::GetNode => "GetNode",
            Api::ListWorkflowDefinitions => "ListWorkflowDefinitions",
            Api::GetWorkflowDefinition => "GetWorkflowDefinition",
            Api::ListResources => "ListResources",
            Api::GetResource => "GetResource",
            Api::ListFunctions => "ListFunctions",
            Api::GetFunction => "GetFunction",
            Api::ListSnapshots => "ListSnapshots",
            Api::GetSnapshot => "GetSnapshot",
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
            | Api::GetFileVersion
            | Api::ListNodes
            | Api::GetNode
            | Api::ListWorkflowDefinitions
            | Api::GetWorkflowDefinition
            | Api::ListResources
            | Api::GetResource
            | Api::ListFunctions
            | Api::GetFunction
            | Api::ListSnapshots
            | Api::GetSnapshot => Access::Read,
        }
    }
}
