//! Data Studio objects (vendor-apis.md 1.12): `ListNodes`, `GetNode`,
//! `ListWorkflowDefinitions`, `GetWorkflowDefinition`, `ListResources`,
//! `GetResource`, `ListFunctions`, `GetFunction` (GET, query), and their
//! snapshots: `ListSnapshots`, `GetSnapshot` (POST, query, empty body).

use serde_json::{Value, json};

use super::{
    answer::{Answer, fail, ok},
    params::{Req, page, paging, text},
    store::{Emu, Kind, Object, Snapshot, SnapshotKind},
};

/// The script's runtime command: the node type, or the kind's.
fn command(o: &Object) -> &'static str {
    match o.kind {
        Kind::Node => o.r#type,
        Kind::Workflow => "WORKFLOW",
        Kind::Resource => "ODPS_RESOURCE",
        Kind::Function => "ODPS_FUNCTION",
    }
}

/// The FlowSpec of `o` with `content` as its script's.
fn spec(o: &Object, content: &str) -> String {
    let mut entity = json!({"id": o.id, "name": o.name, "owner": o.owner,
        "script": {"path": o.path, "language": "odps-sql", "runtime": {"command": command(o)}, "content": content}});
    let (kind, key) = match o.kind {
        Kind::Node => ("Node", "nodes"),
        Kind::Workflow => (o.r#type, "workflows"),
        Kind::Resource => ("Resource", "fileResources"),
        Kind::Function => ("Function", "functions"),
    };
    if matches!(o.kind, Kind::Resource | Kind::Function) {
        entity["type"] = json!(o.r#type);
    }
    if o.kind == Kind::Workflow {
        entity["nodes"] = json!([]);
    }
    json!({"version": "1.1.0", "kind": kind, "spec": {key: [entity]}}).to_string()
}

/// The newest saved snapshot.
fn newest(o: &Object) -> Option<&Snapshot> {
    o.snapshots.iter().filter(|s| s.kind == SnapshotKind::Saved).max_by_key(|s| s.version)
}

impl Emu {
    /// A list row: base fields, `Script`, and the kind's own.
    fn object_row(&self, o: &Object) -> Value {
        let script = json!({"Id": format!("{}1", o.id), "Path": o.path, "Runtime": {"Command": command(o)}});
        let mut v = json!({"Id": o.id, "Name": o.name, "Owner": o.owner, "ProjectId": self.opts.project_id,
            "CreateTime": o.create_time, "ModifyTime": o.modify_time, "Script": script});
        match o.kind {
            Kind::Node => {
                v["Description"] = json!(format!("node {}", o.name));
                v["TaskId"] = json!(o.id.parse::<i64>().unwrap_or_default() % 1_000_000_000 + 700_000_000_000);
                v["Recurrence"] = json!("Normal");
                v["Strategy"] = json!({"Timeout": 0, "InstanceMode": "T+1", "RerunMode": "Allowed", "RerunTimes": 3,
                    "RerunInterval": 180_000});
                v["Trigger"] = json!({"Id": format!("{}2", o.id), "Type": "Scheduler", "Cron": "00 00 00 * * ?",
                    "StartTime": "1970-01-01 00:00:00", "EndTime": "9999-01-01 00:00:00", "Timezone": "Asia/Shanghai"});
                v["RuntimeResource"] = json!({"ResourceGroup": "S_res_group_1", "ResourceGroupId": "50414322"});
                v["DataSource"] = json!({"Name": "odps_first", "Type": "odps"});
                v["Inputs"] = json!({"NodeOutputs": [], "Tables": [], "Variables": []});
                v["Outputs"] = json!({"NodeOutputs": [{"Data": format!("{}.out", o.id), "RefTableName": ""}],
                    "Tables": [], "Variables": []});
                v["Tags"] = json!([]);
            }
            Kind::Workflow => {
                v["Description"] = json!(format!("workflow {}", o.name));
                v["Type"] = json!(o.r#type);
            }
            Kind::Resource => {
                v["Type"] = json!(o.r#type);
                v["SourceType"] = json!("Local");
                v["SourcePath"] = json!("");
                v["TargetType"] = json!("Gateway");
                v["TargetPath"] = json!(format!("/home/admin/{}", o.name));
                v["DataSource"] = json!({"Name": "odps_first", "Type": "odps"});
            }
            Kind::Function => {
                v["Type"] = json!(o.r#type);
                v["Description"] = json!(format!("function {}", o.name));
                v["ClassName"] = json!(format!("com.example.{}", o.name));
                v["FileResource"] = json!("res_2");
                v["EmbeddedCodeType"] = json!("Python3");
                v["EmbeddedResourceType"] = json!("File");
                v["DataSource"] = json!({"Name": "odps_first", "Type": "odps"});
            }
        }
        v
    }

    /// `ListNodes`, `ListWorkflowDefinitions`, `ListResources`, `ListFunctions`.
    pub(super) fn list_objects(&self, r: &Req, rid: &str, kind: Kind) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let ty = match kind {
            // Absent Type lists cycle workflows only.
            Kind::Workflow => Some(text(p, "Type").unwrap_or("CycleWorkflow")),
            Kind::Resource | Kind::Function => text(p, "Type"),
            Kind::Node => None,
        };
        let d = self.lock();
        let rows: Vec<Value> = d
            .objects
            .values()
            .filter(|o| {
                o.kind == kind
                    && text(p, "Name").is_none_or(|x| o.name.contains(x))
                    && ty.is_none_or(|t| o.r#type.eq_ignore_ascii_case(t))
                    && (kind == Kind::Node || text(p, "Owner").is_none_or(|x| o.owner == x))
                    && (kind != Kind::Node || text(p, "ContainerId").is_none())
            })
            .map(|o| self.object_row(o))
            .collect();
        let total = rows.len();
        let list = page(&rows, n, s);
        let (key, paging) = match kind {
            // ListNodes types its paging numbers as strings.
            Kind::Node => (
                "Nodes",
                json!({"PageNumber": n.to_string(), "PageSize": s.to_string(),
                "TotalCount": total.to_string()}),
            ),
            Kind::Workflow => ("WorkflowDefinitions", json!({"PageNumber": n, "PageSize": s, "TotalCount": total})),
            Kind::Resource => ("Resources", json!({"PageNumber": n, "PageSize": s, "TotalCount": total})),
            Kind::Function => ("Functions", json!({"PageNumber": n, "PageSize": s, "TotalCount": total})),
        };
        let mut paging = paging;
        paging[key] = json!(list);
        Ok(json!({"RequestId": rid, "PagingInfo": paging}))
    }

    /// `GetNode`, `GetWorkflowDefinition`, `GetResource`, `GetFunction`.
    pub(super) fn get_object(&self, r: &Req, rid: &str, kind: Kind) -> Answer {
        let Some(id) = text(&r.params, "Id") else {
            return fail(400, "MissingParameter", "Id is mandatory for this action.", rid);
        };
        let d = self.lock();
        let Some(o) = d.objects.get(id).filter(|o| o.kind == kind) else {
            return fail(404, "Invalid.Object.NotExists", &format!("The object {id} does not exist."), rid);
        };
        let content = newest(o).map(|s| s.content.as_str()).unwrap_or_default();
        let mut v = json!({"Id": o.id, "Name": o.name, "Owner": o.owner, "ProjectId": self.opts.project_id,
            "CreateTime": o.create_time, "ModifyTime": o.modify_time, "Spec": spec(o, content)});
        let key = match kind {
            Kind::Node => {
                v["TaskId"] = json!(o.id.parse::<i64>().unwrap_or_default() % 1_000_000_000 + 700_000_000_000);
                "Node"
            }
            Kind::Workflow => {
                v["WorkflowId"] = json!(o.id.parse::<i64>().unwrap_or_default() % 1_000_000_000 + 800_000_000_000);
                "WorkflowDefinition"
            }
            Kind::Resource => "Resource",
            Kind::Function => "Function",
        };
        ok(json!({"RequestId": rid, key: v}))
    }

    fn snapshot_json(o: &Object, s: &Snapshot, content: bool, project: i64) -> Value {
        let mut v = json!({"Id": s.id, "ObjectId": o.id, "Namespace": project.to_string(), "Type": s.kind.name(),
            "Version": s.version, "Creator": s.creator, "CreateTime": s.create_time, "Comment": s.comment});
        if content {
            if s.by_url {
                v["ContentUrl"] = json!(format!(
                    "https://dataworks-snapshots.oss-cn-hangzhou.aliyuncs.com/{}?Expires=1767225600&Signature=emulated",
                    s.id
                ));
            } else {
                v["Content"] = json!({"Content": s.content, "Spec": spec(o, &s.content), "StageCode": ""});
            }
        }
        v
    }

    /// `ListSnapshots`: the object's snapshots of the given types, oldest first.
    pub(super) fn list_snapshots(&self, r: &Req, rid: &str) -> Answer {
        let p = &r.params;
        let (n, s) = match paging(p) {
            Ok(x) => x,
            Err(m) => return fail(400, "InvalidParameter", &m, rid),
        };
        let (Some(ns), Some(id), Some(types)) = (text(p, "Namespace"), text(p, "ObjectId"), text(p, "Type")) else {
            return fail(400, "MissingParameter", "Namespace, ObjectId and Type are mandatory for this action.", rid);
        };
        if ns != self.opts.project_id.to_string() {
            return fail(403, "Forbidden.Access", "Access is forbidden. You are not a member of this workspace.", rid);
        }
        let types: Vec<&str> = types.split(',').map(str::trim).collect();
        let d = self.lock();
        let rows: Vec<Value> = d
            .objects
            .get(id)
            .map(|o| {
                o.snapshots
                    .iter()
                    .filter(|s| types.contains(&s.kind.name()))
                    .map(|s| Self::snapshot_json(o, s, false, self.opts.project_id))
                    .collect()
            })
            .unwrap_or_default();
        ok(json!({"RequestId": rid, "PagingInfo": {"PageNumber": n, "PageSize": s, "TotalCount": rows.len(),
            "Snapshots": page(&rows, n, s)}}))
    }

    /// `GetSnapshot`: one snapshot with its Content, or a ContentUrl.
    pub(super) fn get_snapshot(&self, r: &Req, rid: &str) -> Answer {
        let Some(id) = text(&r.params, "Id") else {
            return fail(400, "MissingParameter", "Id is mandatory for this action.", rid);
        };
        let d = self.lock();
        let found = d.objects.values().find_map(|o| o.snapshots.iter().find(|s| s.id == id).map(|s| (o, s)));
        match found {
            Some((o, s)) => {
                ok(json!({"RequestId": rid, "Snapshot": Self::snapshot_json(o, s, true, self.opts.project_id)}))
            }
            None => fail(404, "Invalid.Snapshot.NotExists", &format!("The snapshot {id} does not exist."), rid),
        }
    }
}
