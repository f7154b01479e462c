//! Compiles `proto/` with protox (no system protoc) and keeps the file
//! descriptor set for gRPC reflection.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = [
        "proto/datastudio/v1/common.proto",
        "proto/datastudio/v1/release.proto",
        "proto/datastudio/v1/file.proto",
        "proto/datastudio/v1/workspace.proto",
    ];
    let fds = protox::compile(files, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let bytes = prost::Message::encode_to_vec(&fds);
    std::fs::write(out.join("datastudio_descriptor.bin"), bytes)?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
