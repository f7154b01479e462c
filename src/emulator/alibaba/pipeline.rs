//! Pipeline runs: list, get, items, create, run stage by stage, abolish.

use std::time::Instant;

use serde_json::{Value, json};

use super::{
    params::{Req, page, paging, text},
    seed::BASE_TIME,
    store::{Data, Emu, Kind, Run, SnapshotKind},
};

pub(super) fn run_id(i: u64) -> String {
    format!("a7ef0634-20ec-4a7c-a214-{:012x}", 0x5402_0f91_0000 + i)
}

pub(super) fn stage_template(last: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("BUILD_PACKAGE", "Build", "Success".into()),
        ("DEV_CHECK", "Check", "Success".into()),
        ("PROD_CHECK", "Check", "Success".into()),
        ("PROD", "Deploy", last.into()),
    ]
}

impl Emu {
    fn run_status(&self, run: &Run) -> (String, Vec<Value>) {
        let mut statuses: Vec<String> = Vec::new();
        let running = run.running;
        for (i, (_, _, final_status)) in run.stages.iter().enumerate() {
            let s = match running {
                None if run.create_time < BASE_TIME => final_status.clone(),
                None => "Init".into(),
                Some((cur, _)) if i < cur => "Success".into(),
                Some((cur, t)) if i == cur => {
                    if t.elapsed() >= self.opts.deploy_step {
                        if run.failing && i + 1 == run.stages.len() { "Fail".into() } else { "Success".into() }
                    } else {
                        "Running".into()
                    }
                }
                Some(_) => "Init".into(),
            };
            statuses.push(s);
        }
        let overall = if run.abolished {
            "Termination".to_owned()
        } else if statuses.iter().any(|s| s == "Fail") {
            "Fail".into()
        } else if statuses.iter().all(|s| s == "Success") {
            "Success".into()
        } else if statuses.iter().all(|s| s == "Init") {
            "Init".into()
        } else {
            "Running".into()
        };
        let stages = run
            .stages
            .iter()
            .zip(&statuses)
            .enumerate()
            .map(|(i, ((code, ty, _), st))| {
                json!({"Code": code, "Step": i + 1, "Name": code.replace('_', " ").to_lowercase(), "Type": ty,
                    "Status": st, "Message": if st == "Fail" { "deployment check failed" } else { "" }, "Detail": {}})
            })
            .collect();
        (overall, stages)
    }

    fn run_json(&self, run: &Run) -> Value {
        let (status, stages) = self.run_status(run);
        json!({"Id": run.id, "ProjectId": self.opts.project_id, "Creator": run.creator, "Description": run.description,
            "Message": if status == "Fail" { "the PROD stage failed" } else { "" }, "CreateTime": run.create_time,
            "ModifyTime": run.modify_time, "Status": status, "Stages": stages})
    }

    pub(super) fn list_runs(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let d = self.lock();
        let mut rows: Vec<Value> = d
            .runs
            .iter()
            .filter(|run| {
                text(p, "Creator").is_none_or(|c| run.creator == c)
                    && text(p, "ObjectId").is_none_or(|o| run.object == o)
            })
            .map(|run| self.run_json(run))
            .filter(|v| text(p, "Status").is_none_or(|st| v["Status"] == st))
            .collect();
        rows.sort_by(|a, b| b["CreateTime"].as_i64().cmp(&a["CreateTime"].as_i64()));
        let total = rows.len();
        Ok(json!({"RequestId": rid, "PagingInfo": {"PageNumber": n, "PageSize": s, "TotalCount": total,
            "PipelineRuns": page(&rows, n, s)}}))
    }

    fn find_run<'a>(d: &'a Data, r: &Req) -> Result<&'a Run, String> {
        let id = text(&r.params, "Id")
            .or_else(|| text(&r.params, "PipelineRunId"))
            .ok_or("Id is mandatory for this action.")?;
        d.runs.iter().find(|x| x.id == id).ok_or_else(|| format!("The pipeline run {id} does not exist."))
    }

    pub(super) fn get_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let d = self.lock();
        let run = Self::find_run(&d, r)?;
        Ok(json!({"RequestId": rid, "Pipeline": self.run_json(run)}))
    }

    pub(super) fn list_run_items(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let (n, s) = paging(&r.params)?;
        let d = self.lock();
        let run = Self::find_run(&d, r)?;
        let o = d.objects.get(&run.object);
        let (status, _) = self.run_status(run);
        let ty = match o.map(|o| o.kind) {
            Some(Kind::Workflow) => "WorkflowDefinition",
            Some(Kind::Resource) => "Resource",
            Some(Kind::Function) => "Function",
            Some(Kind::Node) | None => "Node",
        };
        let version =
            o.and_then(|o| o.snapshots.iter().filter(|s| s.kind == SnapshotKind::Saved).map(|s| s.version).max());
        let item = json!({"Id": run.object, "Name": o.map(|o| o.name.clone()).unwrap_or_default(),
            "Type": ty, "Version": version.unwrap_or(1), "Status": status, "Message": "",
            "Spec": format!("{{\"version\":\"1.1.0\",\"kind\":\"{ty}\"}}"), "CreateTime": run.create_time,
            "ModifyTime": run.modify_time});
        Ok(json!({"RequestId": rid, "PagingInfo": {"PageNumber": n, "PageSize": s, "TotalCount": 1,
            "PipelineRunItems": page(&[item], n, s)}}))
    }

    pub(super) fn create_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        if text(p, "Type") != Some("Online") && text(p, "Type") != Some("Offline") {
            return Err("Type must be Online or Offline.".into());
        }
        let ids: Vec<String> = serde_json::from_str(text(p, "ObjectIds").ok_or("ObjectIds is mandatory.")?)
            .map_err(|_| "The parameter ObjectIds is invalid.".to_owned())?;
        let object = ids.first().cloned().ok_or("The parameter ObjectIds is invalid.")?;
        let mut d = self.lock();
        // Data Studio objects only: a legacy FileId is not one.
        if !d.objects.contains_key(&object) {
            return Err(format!("The object {object} does not exist."));
        }
        let failing = object.ends_with('7');
        let i = d.next_run;
        d.next_run += 1;
        let now = crate::domain::time::now_ms();
        let run = Run {
            id: run_id(i),
            creator: r.key.clone(),
            description: text(p, "Description").unwrap_or_default().to_owned(),
            create_time: now,
            modify_time: now,
            object,
            stages: stage_template("Success"),
            running: None,
            failing,
            abolished: false,
        };
        let id = run.id.clone();
        d.runs.push(run);
        Ok(json!({"RequestId": rid, "Id": id}))
    }

    pub(super) fn exec_stage(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let code = text(&r.params, "Code").ok_or("Code is mandatory.")?.to_owned();
        let mut d = self.lock();
        let idx = {
            let run = Self::find_run(&d, r)?;
            let (status, stages) = self.run_status(run);
            let i = run.stages.iter().position(|(c, _, _)| *c == code).ok_or(format!("Unknown stage {code}."))?;
            let ready = stages.iter().take(i).all(|s| s["Status"] == "Success") && stages[i]["Status"] == "Init";
            if status == "Termination" || !ready {
                return Err(format!("Stage {code} cannot run now: stages run one by one, in order."));
            }
            i
        };
        let id = text(&r.params, "Id").unwrap_or_default().to_owned();
        if let Some(run) = d.runs.iter_mut().find(|x| x.id == id) {
            run.running = Some((idx, Instant::now()));
            run.modify_time = crate::domain::time::now_ms();
        }
        Ok(json!({"RequestId": rid, "Success": true}))
    }

    pub(super) fn abolish_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = text(&r.params, "Id").ok_or("Id is mandatory.")?.to_owned();
        let mut d = self.lock();
        let run = d.runs.iter_mut().find(|x| x.id == id).ok_or(format!("The pipeline run {id} does not exist."))?;
        run.abolished = true;
        Ok(json!({"RequestId": rid, "Success": true}))
    }
}
