#![forbid(unsafe_code)]
//! The `datastudio-gateway` binary.

use std::{process::ExitCode, time::Duration};

use clap::{CommandFactory, Parser};
use datastudio_gateway::{
    cli::{Cli, Command},
    config::{self, Config},
    gateway, telemetry,
};

/// mimalloc (v3) instead of glibc malloc: a page of 100 rows makes and frees
/// several hundred small strings and messages per call, where glibc's
/// malloc and free cost as much as reading the vendor's JSON
/// (`cargo bench --bench gateway -- --instructions N` counts it; the README's
/// Performance section has the figures, resident memory included).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Longest wait for queued spans to reach the collector at exit.
const FLUSH: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    datastudio_gateway::install_crypto_provider();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match run(cli.command).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::CheckConfig { file } => Ok(check_config(&file)),
        Command::Client(cmd) => Ok(datastudio_gateway::client_cli::run(*cmd).await),
        Command::Completions { shell } => {
            datastudio_gateway::client_cli::completions(shell, &mut Cli::command());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, listen } => {
            let cfg = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: cannot load:\n{e}", config.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let tel = telemetry::init(&cfg.telemetry);
            let problems = config::check(&cfg);
            if !problems.is_empty() {
                for p in &problems {
                    tracing::error!(problem = %p, "invalid configuration");
                }
                tel.shutdown(FLUSH).await;
                anyhow::bail!("{} problem(s) in {}; run check-config for details", problems.len(), config.display());
            }
            let served = gateway::serve_until_signal(&cfg, &listen, "serve").await;
            tel.shutdown(FLUSH).await;
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => {
            let tel = telemetry::init_with_format(config::LogFormat::Text);
            let ran = datastudio_gateway::demo::run(&listen).await;
            tel.shutdown(FLUSH).await;
            ran?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { addr, service, timeout } => {
            use datastudio_gateway::healthcheck::{Health, check};
            Ok(match check(addr, &service, timeout).await {
                Health::Serving => {
                    println!("SERVING");
                    ExitCode::SUCCESS
                }
                Health::NotServing(status) => {
                    eprintln!("not serving: {status}");
                    ExitCode::FAILURE
                }
                Health::Unreachable(why) => {
                    eprintln!("unhealthy: {why}");
                    ExitCode::FAILURE
                }
            })
        }
        Command::Emulator { alibaba_listen, huawei_listen } => {
            let tel = telemetry::init_with_format(config::LogFormat::Text);
            let ran = datastudio_gateway::demo::emulators_only(alibaba_listen, huawei_listen).await;
            tel.shutdown(FLUSH).await;
            ran?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    let cfg = match Config::load(file) {
        Ok(c) => c,
        Err(e) => {
            println!("{}: invalid", file.display());
            for line in e.0.lines() {
                println!("  {line}");
            }
            return ExitCode::from(2);
        }
    };
    let problems = config::check(&cfg);
    if problems.is_empty() {
        println!("{}: OK ({} workspace(s))", file.display(), cfg.workspaces.len());
        ExitCode::SUCCESS
    } else {
        println!("{}: {} problem(s)", file.display(), problems.len());
        for p in problems {
            println!("  {p}");
        }
        ExitCode::from(2)
    }
}
