//! Deployment packages (2024 and 2020 names) and the `DeployFile`/`SubmitFile` that create them.

use std::time::Instant;

use serde_json::{Value, json};

use super::{
    params::{Req, int, page, paging, text},
    store::{Emu, Package},
};

impl Emu {
    fn package_json(&self, p: &Package) -> Value {
        let (status, exec) = self.package_state(p);
        json!({"Id": p.id, "Name": p.name, "Status": status, "Creator": p.creator, "Executor": p.executor,
            "CreateTime": p.create_time, "ExecuteTime": exec, "ErrorMessage": self.package_error(p)})
    }

    fn package_state(&self, p: &Package) -> (i64, i64) {
        match p.started {
            Some((t, fails)) if t.elapsed() >= self.opts.deploy_step => (if fails { 2 } else { 1 }, p.execute_time),
            Some(_) => (0, p.execute_time),
            None => (p.status, p.execute_time),
        }
    }

    fn package_error(&self, p: &Package) -> String {
        match self.package_state(p).0 {
            2 if p.started.is_some() => "deploy failed: node dependency check did not pass".into(),
            _ => p.error.clone(),
        }
    }

    pub(super) fn list_packages(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let status = int(p, "Status")?;
        let end_create = int(p, "EndCreateTime")?;
        let end_exec = int(p, "EndExecuteTime")?;
        let d = self.lock();
        let mut rows: Vec<&Package> = d
            .packages
            .values()
            .filter(|pk| {
                let (st, exec) = self.package_state(pk);
                text(p, "Keyword").is_none_or(|k| pk.name.contains(k))
                    && text(p, "Creator").is_none_or(|c| pk.creator == c)
                    && text(p, "Executor").is_none_or(|c| pk.executor == c)
                    && status.is_none_or(|x| x == st)
                    && end_create.is_none_or(|t| pk.create_time <= t)
                    && end_exec.is_none_or(|t| exec != 0 && exec <= t)
            })
            .collect();
        rows.sort_by(|a, b| b.create_time.cmp(&a.create_time).then(b.id.cmp(&a.id)));
        let total = rows.len();
        let list: Vec<Value> = page(&rows, n, s).into_iter().map(|pk| self.package_json(pk)).collect();
        Ok(
            json!({"RequestId": rid, "Data": {"PageNumber": n, "PageSize": s, "TotalCount": total, "Deployments": list}}),
        )
    }

    pub(super) fn get_package(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let Some(id) = int(&r.params, "DeploymentId")? else {
            return Err("DeploymentId is mandatory for this action.".into());
        };
        let d = self.lock();
        let Some(pk) = d.packages.get(&id) else {
            return Ok(json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.Deployment.NotExists",
                "ErrorMessage": format!("The deployment {id} does not exist."), "HttpStatusCode": 404}));
        };
        let (status, exec) = self.package_state(pk);
        let item_status = match (status, pk.started) {
            (0, Some(_)) => 5,
            (1, _) => 1,
            (2, _) => 4,
            (6, _) => 6,
            _ => 0,
        };
        let items: Vec<Value> =
            pk.items.iter().map(|(f, v)| json!({"FileId": f, "FileVersion": v, "Status": item_status})).collect();
        let mut dep = json!({"Name": pk.name, "Status": status, "CreatorId": pk.creator, "HandlerId": pk.executor,
            "CreateTime": pk.create_time, "ExecuteTime": exec, "ErrorMessage": self.package_error(pk),
            "FromEnvironment": pk.to_env - 1, "ToEnvironment": pk.to_env});
        if status == 0 && pk.started.is_some() {
            dep["CheckingStatus"] = json!(8);
        }
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"Deployment": dep, "DeployedItems": items}}))
    }
    pub(super) fn deploy_file(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = int(&r.params, "FileId")?;
        let node = int(&r.params, "NodeId")?;
        let mut d = self.lock();
        let f = match (id, node) {
            (Some(id), _) => d.files.get(&id),
            (None, Some(n)) => d.files.values().find(|f| f.node_id == n),
            (None, None) => return Err("FileId or NodeId is mandatory for this action.".into()),
        };
        let Some(f) = f.cloned() else { return Ok(Self::missing_file(id.or(node).unwrap_or_default(), rid)) };
        if f.versions.is_empty() {
            return Err(format!("The file {} has not been committed.", f.id));
        }
        let pid = d.next_package;
        d.next_package += 1;
        let to_env = if r.action == "SubmitFile" { 1 } else { 2 };
        let now = crate::domain::time::now_ms();
        d.packages.insert(
            pid,
            Package {
                id: pid,
                name: format!("{}_{}", if to_env == 2 { "deploy" } else { "submit" }, f.name),
                status: 0,
                creator: r.key.clone(),
                executor: r.key.clone(),
                create_time: now,
                execute_time: now,
                error: String::new(),
                to_env,
                items: vec![(f.id, f.versions.len() as i64)],
                started: Some((Instant::now(), f.id % 10 == 7)),
            },
        );
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": pid}))
    }
}
