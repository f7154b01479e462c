//! `demo` and `emulator`: the gateway wired to built-in vendor emulators.

use std::net::SocketAddr;

use crate::cli::Listen;

/// Runs the demo until a signal.
pub async fn run(listen: &Listen) -> anyhow::Result<()> {
    let _ = listen;
    println!("no vendor emulators yet");
    anyhow::bail!("the demo needs the vendor emulators, which have not landed yet")
}

/// Runs the emulators alone until a signal.
pub async fn emulators_only(alibaba: SocketAddr, huawei: SocketAddr) -> anyhow::Result<()> {
    let _ = (alibaba, huawei);
    anyhow::bail!("the vendor emulators have not landed yet")
}
