//! The floor the gateway is compared with: a bare tonic server (this bench
//! binary started again with `--floor-serve`) that answers the same
//! protobuf pages the gateway answered, recorded once, without a vendor
//! call, no telemetry, no limiter. What is left of a call there is
//! HTTP/2, protobuf encoding of the page and the runtime.

use std::{net::SocketAddr, path::Path};

use datastudio_gateway::pb::{
    self,
    file_service_server::{FileService, FileServiceServer},
    release_service_server::{ReleaseService, ReleaseServiceServer},
};
use prost::Message;
use tonic::{Request, Response, Status};

/// The recorded answers, one per read the bench measures.
#[derive(Clone, Default)]
pub struct Answers {
    /// DataWorks release packages, page of 100.
    pub ali_packages: pb::ListReleasePackagesResponse,
    /// DataArts release packages, page of 100.
    pub hw_packages: pb::ListReleasePackagesResponse,
    /// DataWorks files, page of 100 with content.
    pub ali_files: pb::ListFilesResponse,
    /// DataArts files, page of 100.
    pub hw_files: pb::ListFilesResponse,
    /// DataWorks file version with content.
    pub version: pb::GetFileVersionResponse,
}

const FILES: [&str; 5] = ["ali-packages", "hw-packages", "ali-files", "hw-files", "version"];

impl Answers {
    /// Writes the answers into `dir` as protobuf bytes.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let bytes = [
            self.ali_packages.encode_to_vec(),
            self.hw_packages.encode_to_vec(),
            self.ali_files.encode_to_vec(),
            self.hw_files.encode_to_vec(),
            self.version.encode_to_vec(),
        ];
        for (name, b) in FILES.iter().zip(bytes) {
            std::fs::write(dir.join(format!("floor-{name}.pb")), b)?;
        }
        Ok(())
    }

    fn load(dir: &Path) -> anyhow::Result<Answers> {
        let read = |name: &str| std::fs::read(dir.join(format!("floor-{name}.pb")));
        Ok(Answers {
            ali_packages: Message::decode(&read(FILES[0])?[..])?,
            hw_packages: Message::decode(&read(FILES[1])?[..])?,
            ali_files: Message::decode(&read(FILES[2])?[..])?,
            hw_files: Message::decode(&read(FILES[3])?[..])?,
            version: Message::decode(&read(FILES[4])?[..])?,
        })
    }
}

/// Serves the answers in `dir` on `addr` until killed (`--floor-serve ADDR DIR`).
pub async fn serve(addr: SocketAddr, dir: &Path) -> anyhow::Result<()> {
    let answers = Answers::load(dir)?;
    tonic::transport::Server::builder()
        .add_service(ReleaseServiceServer::new(Floor(answers.clone())))
        .add_service(FileServiceServer::new(Floor(answers)))
        .serve(addr)
        .await?;
    Ok(())
}

struct Floor(Answers);

fn huawei(parent: &str) -> bool {
    parent.ends_with(crate::HW_WS)
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not part of the floor"))
}

#[tonic::async_trait]
impl ReleaseService for Floor {
    type WatchDeploymentStream = std::pin::Pin<
        Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<pb::WatchDeploymentResponse, Status>> + Send>,
    >;

    async fn list_release_packages(
        &self,
        r: Request<pb::ListReleasePackagesRequest>,
    ) -> Result<Response<pb::ListReleasePackagesResponse>, Status> {
        let page = if huawei(&r.get_ref().parent) { &self.0.hw_packages } else { &self.0.ali_packages };
        Ok(Response::new(page.clone()))
    }
    async fn get_release_package(
        &self,
        _: Request<pb::GetReleasePackageRequest>,
    ) -> Result<Response<pb::GetReleasePackageResponse>, Status> {
        unimplemented()
    }
    async fn deploy_release_packages(
        &self,
        _: Request<pb::DeployReleasePackagesRequest>,
    ) -> Result<Response<pb::DeployReleasePackagesResponse>, Status> {
        unimplemented()
    }
    async fn deploy_files(
        &self,
        _: Request<pb::DeployFilesRequest>,
    ) -> Result<Response<pb::DeployFilesResponse>, Status> {
        unimplemented()
    }
    async fn get_deployment(
        &self,
        _: Request<pb::GetDeploymentRequest>,
    ) -> Result<Response<pb::GetDeploymentResponse>, Status> {
        unimplemented()
    }
    async fn watch_deployment(
        &self,
        _: Request<pb::WatchDeploymentRequest>,
    ) -> Result<Response<Self::WatchDeploymentStream>, Status> {
        unimplemented()
    }
    async fn cancel_deployment(
        &self,
        _: Request<pb::CancelDeploymentRequest>,
    ) -> Result<Response<pb::CancelDeploymentResponse>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl FileService for Floor {
    async fn list_files(&self, r: Request<pb::ListFilesRequest>) -> Result<Response<pb::ListFilesResponse>, Status> {
        let page = if huawei(&r.get_ref().parent) { &self.0.hw_files } else { &self.0.ali_files };
        Ok(Response::new(page.clone()))
    }
    async fn get_file(&self, _: Request<pb::GetFileRequest>) -> Result<Response<pb::GetFileResponse>, Status> {
        unimplemented()
    }
    async fn list_file_versions(
        &self,
        _: Request<pb::ListFileVersionsRequest>,
    ) -> Result<Response<pb::ListFileVersionsResponse>, Status> {
        unimplemented()
    }
    async fn get_file_version(
        &self,
        _: Request<pb::GetFileVersionRequest>,
    ) -> Result<Response<pb::GetFileVersionResponse>, Status> {
        Ok(Response::new(self.0.version.clone()))
    }
}
