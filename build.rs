//! Compiles `proto/` with protox (no system protoc) and keeps the file
//! descriptor set for gRPC reflection and HTTP/JSON transcoding.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = [
        "proto/datastudio/v1/common.proto",
        "proto/datastudio/v1/release.proto",
        "proto/datastudio/v1/file.proto",
        "proto/datastudio/v1/workspace.proto",
    ];
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_source_info(true).include_imports(true).open_files(files)?;
    let fds = compiler.file_descriptor_set();
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // Encoded by protox itself, which keeps the methods' google.api.http
    // options (prost_types::MethodOptions would drop them): the HTTP/JSON
    // routes are read from this set.
    std::fs::write(out.join("datastudio_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
