//! Data Studio object answers (vendor-apis.md 1.12): the four object lists
//! and getters, snapshots, and the FlowSpec text the getters carry.

use std::borrow::Cow;

use serde::Deserialize;

use super::{Listed, Rec, Text, de};

listing!(
    /// ListNodes: `PagingInfo{TotalCount, Nodes[]}` (paging numbers as strings).
    ListNodes, NodePage, paging_info, nodes, "PagingInfo.Nodes", Rec<'a, Object<'a>>
);

listing!(
    /// ListWorkflowDefinitions: `PagingInfo{TotalCount, WorkflowDefinitions[]}`.
    ListWorkflowDefinitions, WorkflowPage, paging_info, workflow_definitions, "PagingInfo.WorkflowDefinitions",
    Rec<'a, Object<'a>>
);

listing!(
    /// ListResources: `PagingInfo{TotalCount, Resources[]}`.
    ListResources, ResourcePage, paging_info, resources, "PagingInfo.Resources", Rec<'a, Object<'a>>
);

listing!(
    /// ListFunctions: `PagingInfo{TotalCount, Functions[]}`.
    ListFunctions, FunctionPage, paging_info, functions, "PagingInfo.Functions", Rec<'a, Object<'a>>
);

/// The kind of a Data Studio object, as pipeline run items name it
/// (ListPipelineRunItems `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum ObjectKind {
    /// A node (ListNodes, GetNode).
    Node,
    /// A workflow definition, cycle or manual.
    #[serde(rename = "WorkflowDefinition")]
    Workflow,
    /// A resource.
    Resource,
    /// A function.
    Function,
}

/// A Data Studio object: a list row (with `Type`, `Script`) or a getter's
/// record (with `Spec` and the scheduling-side id).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Object<'a> {
    /// Object id (a string holding an int64).
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) id: Cow<'a, str>,
    /// Name.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) name: Text<'a>,
    /// Description.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) description: Text<'a>,
    /// Owner's account UID.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) owner: Text<'a>,
    /// Creation, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Last change, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) modify_time: Option<i64>,
    /// Workflow type, resource type or function type (list rows).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) r#type: Text<'a>,
    /// The script: directory path and runtime (list rows).
    #[serde(default, borrow)]
    pub(crate) script: Option<Script<'a>>,
    /// FlowSpec JSON text (getters).
    #[serde(default, borrow, deserialize_with = "de::opt_json_text")]
    pub(crate) spec: Text<'a>,
    /// Scheduling task id once deployed (nodes).
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) task_id: Option<i64>,
    /// Scheduling workflow id once deployed (GetWorkflowDefinition).
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) workflow_id: Option<i64>,
}

/// `Script` of a list row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Script<'a> {
    /// Directory path of the script.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) path: Text<'a>,
    /// Runtime: the node type.
    #[serde(default, borrow)]
    pub(crate) runtime: Option<Runtime<'a>>,
}

/// `Script.Runtime` of a list row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Runtime<'a> {
    /// Node type, e.g. ODPS_SQL.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) command: Text<'a>,
}

/// GetNode: `Node{..., Spec}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetNode<'a> {
    /// The node (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) node: Rec<'a, Object<'a>>,
}

/// GetWorkflowDefinition: `WorkflowDefinition{..., Spec, WorkflowId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetWorkflowDefinition<'a> {
    /// The workflow definition (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) workflow_definition: Rec<'a, Object<'a>>,
}

/// GetResource: `Resource{..., Spec}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetResource<'a> {
    /// The resource (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) resource: Rec<'a, Object<'a>>,
}

/// GetFunction: `Function{..., Spec}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetFunction<'a> {
    /// The function (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) function: Rec<'a, Object<'a>>,
}

listing!(
    /// ListSnapshots: `PagingInfo{TotalCount, Snapshots[]}`.
    ListSnapshots, SnapshotPage, paging_info, snapshots, "PagingInfo.Snapshots", Rec<'a, Snapshot<'a>>
);

/// GetSnapshot: `Snapshot{..., Content | ContentUrl}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetSnapshot<'a> {
    /// The snapshot (the VIEW_FULL record).
    #[serde(borrow)]
    pub(crate) snapshot: Rec<'a, Snapshot<'a>>,
}

/// A snapshot (ListSnapshots row, GetSnapshot `Snapshot`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Snapshot<'a> {
    /// Snapshot id (GetSnapshot takes it).
    #[serde(borrow, deserialize_with = "de::text")]
    pub(crate) id: Cow<'a, str>,
    /// The object's version number.
    #[serde(deserialize_with = "de::int")]
    pub(crate) version: i64,
    /// Who took it (account UID).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) creator: Text<'a>,
    /// When, ms.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub(crate) create_time: Option<i64>,
    /// Comment.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) comment: Text<'a>,
    /// The content (GetSnapshot), unless it comes as `ContentUrl`.
    #[serde(default, borrow)]
    pub(crate) content: Option<SnapshotContent<'a>>,
    /// A pre-signed download link instead of `Content` (never logged).
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) content_url: Text<'a>,
}

/// `Snapshot.Content`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SnapshotContent<'a> {
    /// Script content.
    #[serde(default, borrow, deserialize_with = "de::opt_text")]
    pub(crate) content: Text<'a>,
    /// FlowSpec JSON text.
    #[serde(default, borrow, deserialize_with = "de::opt_json_text")]
    pub(crate) spec: Text<'a>,
}

/// The FlowSpec text of a getter or snapshot (github.com/aliyun/dataworks-spec):
/// `{kind, spec: {nodes | workflows | fileResources | functions: [..]}}`.
/// Which optional keys an object carries is not documented: all are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowSpec {
    /// CycleWorkflow, ManualWorkflow, Node, Resource, Function, ...
    #[serde(default)]
    pub(crate) kind: Option<String>,
    /// The entities.
    #[serde(default)]
    pub(crate) spec: FlowBody,
}

/// `spec` of a FlowSpec.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowBody {
    /// Nodes.
    #[serde(default)]
    pub(crate) nodes: Vec<SpecEntity>,
    /// Workflows.
    #[serde(default)]
    pub(crate) workflows: Vec<SpecEntity>,
    /// Resources.
    #[serde(default)]
    pub(crate) file_resources: Vec<SpecEntity>,
    /// Functions.
    #[serde(default)]
    pub(crate) functions: Vec<SpecEntity>,
}

/// One entity of a FlowSpec.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpecEntity {
    /// Resource or function type.
    #[serde(default)]
    pub(crate) r#type: Option<String>,
    /// The script.
    #[serde(default)]
    pub(crate) script: Option<SpecScript>,
}

/// `script` of a FlowSpec entity.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpecScript {
    /// Directory path.
    #[serde(default)]
    pub(crate) path: Option<String>,
    /// The code.
    #[serde(default)]
    pub(crate) content: Option<String>,
    /// Runtime: the node type.
    #[serde(default)]
    pub(crate) runtime: Option<SpecRuntime>,
}

/// `script.runtime` of a FlowSpec entity.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpecRuntime {
    /// Node type, e.g. ODPS_SQL.
    #[serde(default)]
    pub(crate) command: Option<String>,
}
