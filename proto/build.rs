//! Compiles `recert/v1/*.proto` in pure Rust (protox) and generates tonic code from it.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "recert/v1/holder.proto",
        "recert/v1/program.proto",
        "recert/v1/credential.proto",
        "recert/v1/course.proto",
        "recert/v1/compliance.proto",
        "recert/v1/alert.proto",
        "recert/v1/backup.proto",
        "recert/v1/access.proto",
        "recert/v1/competency.proto",
        "recert/v1/roster.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let fds = protox::compile(files, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("recert_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    // Type names (`prost::Name`) let the daemon find each request's descriptor to measure
    // its fields against the limits before it does anything else.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    // Written by hand in lib.rs: the daemon can send an answer it encoded once (see there).
    config.extern_path(
        ".recert.v1.ListComplianceResponse",
        "crate::ListComplianceResponse",
    );
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
