//! Files and their versions: `ListFiles`, `GetFile`, `ListFileVersions`, `GetFileVersion`.

use serde_json::{Value, json};

use super::{
    params::{Req, boolean, int, int_list, page, paging, text},
    store::{Emu, File, Version},
};

impl Emu {
    fn file_json(f: &File, content: bool, folder: bool) -> Value {
        let mut v = json!({"FileId": f.id, "FileName": f.name, "FileType": f.file_type,
            "FileFolderId": format!("{:08x}", f.folder.len() * 7919), "FileDescription": format!("{} file", f.name),
            "Owner": f.owner, "CreateUser": f.creator, "CreateTime": f.create_time, "LastEditUser": f.last_editor,
            "LastEditTime": f.edit_time, "CurrentVersion": f.versions.len(), "CommitStatus": f.commit_status,
            "NodeId": f.node_id, "BusinessId": f.business_id, "BizId": f.business_id, "ParentId": -1,
            "ConnectionName": "odps_source", "UseType": f.use_type, "IsMaxCompute": false, "AutoParsing": true});
        if content {
            v["Content"] = json!(f.versions.last().map(|x| x.content.clone()).unwrap_or_default());
        }
        if folder {
            v["AbsoluteFolderPath"] = json!(f.folder);
        }
        v
    }

    pub(super) fn list_files(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let node = int(p, "NodeId")?;
        let commit = int(p, "CommitStatus")?;
        if commit.is_some() && r.version == "2020-05-18" {
            return Err("CommitStatus is not supported in 2020-05-18.".into());
        }
        let types = int_list(p, "FileTypes")?;
        let ids = int_list(p, "FileIdIn")?;
        if ids.as_ref().is_some_and(|i| i.len() > 50) {
            return Err("FileIdIn accepts at most 50 ids.".into());
        }
        let d = self.lock();
        let rows: Vec<&File> = d
            .files
            .values()
            .filter(|f| {
                text(p, "FileFolderPath").is_none_or(|x| f.folder.starts_with(x))
                    && text(p, "Keyword").is_none_or(|k| f.name.contains(k))
                    && text(p, "ExactFileName").is_none_or(|k| f.name == k)
                    && text(p, "UseType").is_none_or(|u| f.use_type == u)
                    && types.as_ref().is_none_or(|t| t.contains(&f.file_type))
                    && text(p, "Owner").is_none_or(|o| f.owner == o)
                    && node.is_none_or(|x| f.node_id == x)
                    && ids.as_ref().is_none_or(|i| i.contains(&f.id))
                    && text(p, "LastEditUser").is_none_or(|o| f.last_editor == o)
                    && commit.is_none_or(|c| f.commit_status == c)
            })
            .collect();
        let total = rows.len();
        let (content, folder) = (boolean(p, "NeedContent"), boolean(p, "NeedAbsoluteFolderPath"));
        let list: Vec<Value> = page(&rows, n, s).into_iter().map(|f| Self::file_json(f, content, folder)).collect();
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"PageNumber": n, "PageSize": s, "TotalCount": total, "Files": list}}))
    }

    pub(super) fn missing_file(id: i64, rid: &str) -> Value {
        json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.File.NotExists",
            "ErrorMessage": format!("The file {id} does not exist."), "HttpStatusCode": 404})
    }

    pub(super) fn get_file(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = int(&r.params, "FileId")?;
        let node = int(&r.params, "NodeId")?;
        let d = self.lock();
        let f = match (id, node) {
            (Some(id), _) => d.files.get(&id),
            (None, Some(n)) => d.files.values().find(|f| f.node_id == n),
            (None, None) => return Err("FileId or NodeId is mandatory for this action.".into()),
        };
        let Some(f) = f else { return Ok(Self::missing_file(id.or(node).unwrap_or_default(), rid)) };
        let mut file = Self::file_json(f, true, false);
        file["DeletedStatus"] = json!("NORMAL");
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": {"File": file,
            "NodeConfiguration": {"CycleType": "DAY", "CronExpress": "00 05 00 * * ?", "RerunMode": "ALL_ALLOWED",
                "SchedulerType": "NORMAL", "DependentType": "NONE", "AutoRerunTimes": 3, "ResourceGroupId": 1},
            "ResourceDownloadLink": {"downloadLink": ""}}}))
    }

    fn version_json(f: &File, v: &Version) -> Value {
        json!({"FileVersion": v.n, "FileName": f.name, "FileContent": v.content, "Comment": v.comment,
            "CommitUser": v.commit_user, "CommitTime": v.commit_time, "ChangeType": v.change_type,
            "Status": v.status, "IsCurrentProd": v.n == f.prod_version, "NodeId": f.node_id,
            "NodeContent": "{\"cycleType\":0,\"cronExpress\":\"00 05 00 * * ?\"}",
            "FilePropertyContent": format!("{{\"fileName\":\"{}\",\"fileType\":{}}}", f.name, f.file_type),
            "UseType": f.use_type})
    }

    pub(super) fn list_versions(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let (n, s) = paging(&r.params)?;
        let Some(id) = int(&r.params, "FileId")? else { return Err("FileId is mandatory for this action.".into()) };
        let d = self.lock();
        let Some(f) = d.files.get(&id) else { return Ok(Self::missing_file(id, rid)) };
        let mut all: Vec<&Version> = f.versions.iter().collect();
        all.reverse();
        let list: Vec<Value> = page(&all, n, s).into_iter().map(|v| Self::version_json(f, v)).collect();
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"PageNumber": n, "PageSize": s, "TotalCount": all.len(), "FileVersions": list}}))
    }

    pub(super) fn get_version(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let Some(id) = int(&r.params, "FileId")? else { return Err("FileId is mandatory for this action.".into()) };
        let Some(n) = int(&r.params, "FileVersion")? else {
            return Err("FileVersion is mandatory for this action.".into());
        };
        let d = self.lock();
        let Some(f) = d.files.get(&id) else { return Ok(Self::missing_file(id, rid)) };
        match f.versions.iter().find(|v| v.n == n) {
            Some(v) => {
                Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": Self::version_json(f, v)}))
            }
            None => Ok(json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.FileVersion.NotExists",
                "ErrorMessage": format!("The version {n} of file {id} does not exist."), "HttpStatusCode": 404})),
        }
    }
}
