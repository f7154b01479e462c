//! Each client subcommand: build the request, call, print.

use super::{
    ClientCommand, DeployCmd, DeployOpts, DeploymentsCmd, FilesCmd, Opts, ReleasesCmd, WorkspacesCmd,
    connection::Conn,
    exit::{Exit, Failure},
    output::{self, Format, fields, id, short, table, time, user},
    watch,
};
use crate::pb::{
    self, file_service_client::FileServiceClient, release_service_client::ReleaseServiceClient,
    workspace_service_client::WorkspaceServiceClient,
};

/// A collection under a workspace, for ids given without their full name.
#[derive(Debug, Clone, Copy)]
enum Collection {
    ReleasePackages,
    Files,
    Deployments,
}

impl Collection {
    fn segment(self) -> &'static str {
        match self {
            Collection::ReleasePackages => "releasePackages",
            Collection::Files => "files",
            Collection::Deployments => "deployments",
        }
    }
}

const WORKSPACES: &str = "workspaces/";

/// `workspaces/{w}` from a workspace id or name.
fn workspace_name(w: &str) -> String {
    if w.starts_with(WORKSPACES) { w.to_owned() } else { format!("{WORKSPACES}{w}") }
}

/// The --workspace as `workspaces/{w}`.
fn workspace(opts: &Opts) -> Result<String, Failure> {
    opts.workspace
        .as_deref()
        .map(workspace_name)
        .ok_or_else(|| Failure::Usage("which workspace? pass --workspace (or set DATASTUDIO_WORKSPACE)".into()))
}

/// A full resource name from a full name, or an id under --workspace.
fn resource(opts: &Opts, c: Collection, given: &str) -> Result<String, Failure> {
    if given.starts_with(WORKSPACES) {
        return Ok(given.to_owned());
    }
    Ok(format!("{}/{}/{given}", workspace(opts)?, c.segment()))
}

/// The workspace of a deploy: --workspace, or the one the full names share.
fn deploy_parent(opts: &Opts, names: &[String]) -> Result<String, Failure> {
    if opts.workspace.is_some() {
        return workspace(opts);
    }
    let parents: Vec<&str> =
        names.iter().filter_map(|n| n.strip_prefix(WORKSPACES).and_then(|rest| rest.split('/').next())).collect();
    match parents.first() {
        Some(first) if parents.len() == names.len() && parents.iter().all(|p| p == first) => Ok(workspace_name(first)),
        _ => workspace(opts),
    }
}

pub(super) async fn run(cmd: ClientCommand) -> Result<Exit, Failure> {
    match cmd {
        ClientCommand::Workspaces { cmd, opts } => {
            let conn = opts.connect.open()?;
            workspaces(&conn, &opts, cmd).await
        }
        ClientCommand::Releases { cmd, opts } => {
            let conn = opts.connect.open()?;
            releases(&conn, &opts, cmd).await
        }
        ClientCommand::Files { cmd, opts } => {
            let conn = opts.connect.open()?;
            files(&conn, &opts, cmd).await
        }
        ClientCommand::Deploy { cmd, opts } => {
            let conn = opts.connect.open()?;
            deploy(&conn, &opts, cmd).await
        }
        ClientCommand::Deployments { cmd, opts } => {
            let conn = opts.connect.open()?;
            deployments(&conn, &opts, cmd).await
        }
    }
}

fn vendor(v: i32) -> String {
    pb::Vendor::try_from(v).map(|v| short(v.as_str_name(), "VENDOR_")).unwrap_or_else(|_| v.to_string())
}

fn package_state(s: i32) -> String {
    pb::ReleasePackageState::try_from(s)
        .map(|s| short(s.as_str_name(), "RELEASE_PACKAGE_STATE_"))
        .unwrap_or_else(|_| s.to_string())
}

async fn workspaces(conn: &Conn, opts: &Opts, cmd: WorkspacesCmd) -> Result<Exit, Failure> {
    let mut client = WorkspaceServiceClient::new(conn.channel.clone());
    match cmd {
        WorkspacesCmd::List { page } => {
            let req = pb::ListWorkspacesRequest { page_size: page.page_size, page_token: page.page_token };
            let resp = conn.unary(req, |r| client.list_workspaces(r)).await?;
            output::print(opts.output, &resp, |r| {
                table(
                    ["WORKSPACE", "VENDOR", "REGION", "PROJECT", "FLAVOUR"],
                    r.workspaces.iter().map(|w| {
                        [
                            id(&w.name).to_owned(),
                            vendor(w.vendor),
                            w.region.clone(),
                            w.vendor_project.clone(),
                            w.flavour.clone(),
                        ]
                    }),
                )
            });
            next_page(opts.output, &resp.next_page_token, resp.total_size);
        }
        WorkspacesCmd::Get { workspace } => {
            let req = pb::GetWorkspaceRequest { name: workspace_name(&workspace) };
            let resp = conn.unary(req, |r| client.get_workspace(r)).await?;
            output::print(opts.output, &resp, |r| {
                let Some(w) = &r.workspace else { return String::new() };
                let ops = w.capabilities.as_ref().map(|c| c.operations.as_slice()).unwrap_or_default();
                fields(&[
                    ("name", w.name.clone()),
                    ("vendor", vendor(w.vendor)),
                    ("region", w.region.clone()),
                    ("project", w.vendor_project.clone()),
                    ("flavour", w.flavour.clone()),
                ]) + "\n"
                    + &table(
                        ["OPERATION", "SUPPORTED", "NOTE"],
                        ops.iter().map(|o| {
                            [
                                o.method.rsplit('.').next().unwrap_or(&o.method).to_owned(),
                                if o.supported { "yes" } else { "no" }.to_owned(),
                                o.note.clone(),
                            ]
                        }),
                    )
            });
        }
    }
    Ok(Exit::Ok)
}

fn next_page(format: Format, token: &str, total: i32) {
    if format == Format::Table {
        output::next_page(token, total);
    }
}

async fn releases(conn: &Conn, opts: &Opts, cmd: ReleasesCmd) -> Result<Exit, Failure> {
    let mut client = ReleaseServiceClient::new(conn.channel.clone());
    match cmd {
        ReleasesCmd::List { page, keyword, states } => {
            let req = pb::ListReleasePackagesRequest {
                parent: workspace(opts)?,
                page_size: page.page_size,
                page_token: page.page_token,
                keyword,
                states: states.into_iter().map(|s| pb::ReleasePackageState::from(s) as i32).collect(),
                ..Default::default()
            };
            let resp = conn.unary(req, |r| client.list_release_packages(r)).await?;
            output::print(opts.output, &resp, |r| {
                table(
                    ["PACKAGE", "NAME", "STATE", "CREATOR", "CREATED", "EXECUTED"],
                    r.release_packages.iter().map(|p| {
                        [
                            id(&p.name).to_owned(),
                            p.display_name.clone(),
                            package_state(p.state),
                            user(p.creator.as_ref()),
                            time(p.create_time.as_ref()),
                            time(p.execute_time.as_ref()),
                        ]
                    }),
                )
            });
            next_page(opts.output, &resp.next_page_token, resp.total_size);
        }
        ReleasesCmd::Get { package } => {
            let req = pb::GetReleasePackageRequest {
                name: resource(opts, Collection::ReleasePackages, &package)?,
                view: pb::View::Unspecified as i32,
            };
            let resp = conn.unary(req, |r| client.get_release_package(r)).await?;
            output::print(opts.output, &resp, |r| {
                let Some(p) = &r.release_package else { return String::new() };
                let mut out = fields(&[
                    ("name", p.name.clone()),
                    ("display name", p.display_name.clone()),
                    ("vendor", vendor(p.vendor)),
                    ("state", package_state(p.state)),
                    ("creator", user(p.creator.as_ref())),
                    ("executor", user(p.executor.as_ref())),
                    ("created", time(p.create_time.as_ref())),
                    ("executed", time(p.execute_time.as_ref())),
                    ("error", p.error_message.clone()),
                ]);
                if !p.items.is_empty() {
                    out += "\n";
                    out += &table(
                        ["FILE", "NAME", "VERSION", "DEPLOYED", "STATE"],
                        p.items.iter().map(|i| {
                            [
                                id(&i.file).to_owned(),
                                i.file_display_name.clone(),
                                i.version.to_string(),
                                i.deployed_version.to_string(),
                                package_state(i.state),
                            ]
                        }),
                    );
                }
                if !p.stages.is_empty() {
                    out += "\n";
                    out += &table(
                        ["STEP", "STAGE", "TYPE", "STATE", "MESSAGE"],
                        p.stages.iter().map(|s| {
                            [
                                s.step.to_string(),
                                s.display_name.clone(),
                                s.r#type.clone(),
                                package_state(s.state),
                                s.message.clone(),
                            ]
                        }),
                    );
                }
                out
            });
        }
    }
    Ok(Exit::Ok)
}

async fn files(conn: &Conn, opts: &Opts, cmd: FilesCmd) -> Result<Exit, Failure> {
    let mut client = FileServiceClient::new(conn.channel.clone());
    match cmd {
        FilesCmd::List { page, keyword, folder } => {
            let req = pb::ListFilesRequest {
                parent: workspace(opts)?,
                page_size: page.page_size,
                page_token: page.page_token,
                keyword,
                folder_path: folder,
                ..Default::default()
            };
            let resp = conn.unary(req, |r| client.list_files(r)).await?;
            output::print(opts.output, &resp, |r| {
                table(
                    ["FILE", "NAME", "TYPE", "VERSION", "OWNER", "UPDATED"],
                    r.files.iter().map(|f| {
                        [
                            id(&f.name).to_owned(),
                            f.display_name.clone(),
                            f.file_type.clone(),
                            f.current_version.to_string(),
                            user(f.owner.as_ref()),
                            time(f.update_time.as_ref()),
                        ]
                    }),
                )
            });
            next_page(opts.output, &resp.next_page_token, resp.total_size);
        }
        FilesCmd::Get { file } => {
            let req = pb::GetFileRequest { name: resource(opts, Collection::Files, &file)?, view: 0 };
            let resp = conn.unary(req, |r| client.get_file(r)).await?;
            output::print(opts.output, &resp, |r| {
                let Some(f) = &r.file else { return String::new() };
                let mut out = fields(&[
                    ("name", f.name.clone()),
                    ("display name", f.display_name.clone()),
                    ("vendor", vendor(f.vendor)),
                    ("type", f.file_type.clone()),
                    ("folder", f.folder_path.clone()),
                    ("version", f.current_version.to_string()),
                    ("owner", user(f.owner.as_ref())),
                    ("updated", time(f.update_time.as_ref())),
                    ("description", f.description.clone()),
                ]);
                if !f.content.is_empty() {
                    out += "\n";
                    out += &f.content;
                    if !f.content.ends_with('\n') {
                        out += "\n";
                    }
                }
                out
            });
        }
        FilesCmd::Versions { file, page } => {
            let req = pb::ListFileVersionsRequest {
                parent: resource(opts, Collection::Files, &file)?,
                page_size: page.page_size,
                page_token: page.page_token,
                view: 0,
            };
            let resp = conn.unary(req, |r| client.list_file_versions(r)).await?;
            output::print(opts.output, &resp, |r| {
                table(
                    ["VERSION", "STATE", "PROD", "COMMITTER", "COMMITTED", "COMMENT"],
                    r.file_versions.iter().map(|v| {
                        [
                            v.version.to_string(),
                            pb::FileVersionState::try_from(v.state)
                                .map(|s| short(s.as_str_name(), "FILE_VERSION_STATE_"))
                                .unwrap_or_default(),
                            if v.is_current_prod { "yes" } else { "" }.to_owned(),
                            user(v.committer.as_ref()),
                            time(v.commit_time.as_ref()),
                            v.comment.clone(),
                        ]
                    }),
                )
            });
            next_page(opts.output, &resp.next_page_token, resp.total_size);
        }
    }
    Ok(Exit::Ok)
}

/// The deployments as a table.
fn deployments_table(ds: &[pb::Deployment]) -> String {
    table(
        ["DEPLOYMENT", "STATE", "PACKAGE", "FILES", "ERROR"],
        ds.iter().map(|d| {
            [
                d.name.clone(),
                watch::state_name(d.state()),
                id(&d.release_package).to_owned(),
                d.files.iter().map(|f| id(f)).collect::<Vec<_>>().join(","),
                d.error_message.clone(),
            ]
        }),
    )
}

/// One deployment, field by field.
fn deployment_fields(d: Option<&pb::Deployment>) -> String {
    let Some(d) = d else { return String::new() };
    fields(&[
        ("name", d.name.clone()),
        ("state", watch::state_name(d.state())),
        ("vendor", vendor(d.vendor)),
        ("release package", d.release_package.clone()),
        ("files", d.files.join(", ")),
        ("request id", d.request_id.clone()),
        ("requested by", d.requested_by.clone()),
        ("created", time(d.create_time.as_ref())),
        ("updated", time(d.update_time.as_ref())),
        ("vendor task", d.vendor_task_id.clone()),
        ("error", d.error_message.clone()),
    ])
}

fn startup(d: &DeployOpts) -> i32 {
    if d.start { pb::StartupMode::DeployAndStart as i32 } else { pb::StartupMode::DeployOnly as i32 }
}

async fn deploy(conn: &Conn, opts: &Opts, cmd: DeployCmd) -> Result<Exit, Failure> {
    let mut client = ReleaseServiceClient::new(conn.channel.clone());
    let (deployments, d) = match cmd {
        DeployCmd::Packages { packages, deploy } => {
            let names: Vec<String> =
                packages.iter().map(|p| resource(opts, Collection::ReleasePackages, p)).collect::<Result<_, _>>()?;
            let req = pb::DeployReleasePackagesRequest {
                parent: deploy_parent(opts, &names)?,
                release_packages: names,
                startup_mode: startup(&deploy),
                request_id: request_id(&deploy),
            };
            let resp = conn.unary(req, |r| client.deploy_release_packages(r)).await?;
            if !deploy.watch {
                output::print(opts.output, &resp, |r| deployments_table(&r.deployments));
            }
            (resp.deployments, deploy)
        }
        DeployCmd::Files { files, comment, deploy } => {
            let names: Vec<String> =
                files.iter().map(|f| resource(opts, Collection::Files, f)).collect::<Result<_, _>>()?;
            let req = pb::DeployFilesRequest {
                parent: deploy_parent(opts, &names)?,
                files: names,
                comment,
                startup_mode: startup(&deploy),
                request_id: request_id(&deploy),
            };
            let resp = conn.unary(req, |r| client.deploy_files(r)).await?;
            if !deploy.watch {
                output::print(opts.output, &resp, |r| deployments_table(&r.deployments));
            }
            (resp.deployments, deploy)
        }
    };
    if !d.watch {
        return Ok(Exit::Ok);
    }
    watch::follow(conn, opts.output, deployments.into_iter().map(|d| d.name).collect()).await
}

/// The deploy's request id: the one given, or a fresh UUID, told on stderr
/// before the call so that a retry after any failure can reuse it.
fn request_id(d: &DeployOpts) -> String {
    let id = d.request_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    eprintln!("request id: {id} (to retry this deploy without deploying twice: --request-id {id})");
    id
}

async fn deployments(conn: &Conn, opts: &Opts, cmd: DeploymentsCmd) -> Result<Exit, Failure> {
    let mut client = ReleaseServiceClient::new(conn.channel.clone());
    match cmd {
        DeploymentsCmd::Get { deployment } => {
            let req = pb::GetDeploymentRequest { name: resource(opts, Collection::Deployments, &deployment)?, view: 0 };
            let resp = conn.unary(req, |r| client.get_deployment(r)).await?;
            output::print(opts.output, &resp, |r| deployment_fields(r.deployment.as_ref()));
            Ok(Exit::Ok)
        }
        DeploymentsCmd::Cancel { deployment } => {
            let req = pb::CancelDeploymentRequest { name: resource(opts, Collection::Deployments, &deployment)? };
            let resp = conn.unary(req, |r| client.cancel_deployment(r)).await?;
            output::print(opts.output, &resp, |r| deployment_fields(r.deployment.as_ref()));
            Ok(Exit::Ok)
        }
        DeploymentsCmd::Watch { deployment } => {
            let name = resource(opts, Collection::Deployments, &deployment)?;
            watch::follow(conn, opts.output, vec![name]).await
        }
    }
}
