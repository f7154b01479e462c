//! Following deployments to their end: a live display on a terminal (one
//! line per deployment with its stages so far), one plain line per change
//! otherwise, or one JSON/YAML document per update with `-o`.

use std::{io::IsTerminal, time::Duration};

use futures::{StreamExt, stream};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    connection::Conn,
    exit::{Exit, Failure, code_name},
    output::{self, Format},
};
use crate::pb::{self, DeploymentState, release_service_client::ReleaseServiceClient};

/// A state's name without its prefix: `RUNNING`.
pub(crate) fn state_name(s: DeploymentState) -> String {
    output::short(s.as_str_name(), "DEPLOYMENT_STATE_")
}

/// How a deployment ended, if it did.
fn outcome(s: DeploymentState) -> Option<Exit> {
    match s {
        DeploymentState::Succeeded => Some(Exit::Ok),
        DeploymentState::Failed => Some(Exit::DeploymentFailed),
        DeploymentState::Cancelled => Some(Exit::DeploymentCancelled),
        DeploymentState::Unspecified | DeploymentState::Pending | DeploymentState::Running => None,
    }
}

/// Steps shown on the progress bar: accepted, running, ended.
fn step(s: DeploymentState) -> u64 {
    match s {
        DeploymentState::Unspecified => 0,
        DeploymentState::Pending => 1,
        DeploymentState::Running => 2,
        DeploymentState::Succeeded | DeploymentState::Failed | DeploymentState::Cancelled => 3,
    }
}

/// What one deployment has shown so far.
struct Tracked {
    name: String,
    stages: Vec<DeploymentState>,
    error: Option<tonic::Status>,
}

impl Tracked {
    fn last(&self) -> Option<DeploymentState> {
        self.stages.last().copied()
    }

    fn stages_text(&self) -> String {
        self.stages.iter().map(|s| state_name(*s)).collect::<Vec<_>>().join(" → ")
    }
}

/// Where updates go.
enum Display {
    /// indicatif bars on the terminal (stderr).
    Live { _multi: MultiProgress, bars: Vec<ProgressBar> },
    /// One line per change on stdout.
    Lines,
    /// One document per update on stdout.
    Documents(Format),
}

fn running_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}  [{bar:3}] {wide_msg} {elapsed:>4}")
        .expect("a valid template")
        .progress_chars("=> ")
}

fn ended_style(mark: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{mark} {{prefix}}  [{{bar:3}}] {{wide_msg}} {{elapsed:>4}}"))
        .expect("a valid template")
        .progress_chars("=> ")
}

impl Display {
    fn new(format: Format, names: &[String]) -> Display {
        match format {
            Format::Json | Format::Yaml => Display::Documents(format),
            // Live only when a person watches both streams: with stdout redirected, lines go there.
            Format::Table if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let bars = names
                    .iter()
                    .map(|n| {
                        let bar = multi.add(ProgressBar::new(3));
                        bar.set_style(running_style());
                        bar.set_prefix(output::id(n).to_owned());
                        bar.set_message("waiting for the first state");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bar
                    })
                    .collect();
                Display::Live { _multi: multi, bars }
            }
            Format::Table => Display::Lines,
        }
    }

    fn changed(&self, i: usize, t: &Tracked, d: &pb::Deployment) {
        let state = d.state();
        match self {
            Display::Live { bars, .. } => {
                let bar = &bars[i];
                bar.set_position(step(state));
                let mut msg = t.stages_text();
                if !d.error_message.is_empty() {
                    msg += &format!(": {}", d.error_message);
                }
                match outcome(state) {
                    None => bar.set_message(msg),
                    Some(end) => {
                        bar.set_style(ended_style(if end == Exit::Ok { "✔" } else { "✘" }));
                        bar.finish_with_message(msg);
                    }
                }
            }
            Display::Lines => {
                let err = if d.error_message.is_empty() { String::new() } else { format!("  {}", d.error_message) };
                output::emit(&format!("{} {}{err}\n", d.name, state_name(state)));
            }
            Display::Documents(_) => {}
        }
    }

    fn update(&self, resp: &pb::WatchDeploymentResponse) {
        match self {
            Display::Documents(Format::Json) => output::emit(&(output::json_line(resp) + "\n")),
            Display::Documents(format) => {
                if *format == Format::Yaml {
                    output::emit("---\n");
                }
                output::print(*format, resp, |_| String::new());
            }
            Display::Live { .. } | Display::Lines => {}
        }
    }

    fn failed(&self, i: usize, t: &Tracked, s: &tonic::Status) {
        let text = format!("{}: {}", code_name(s.code()), s.message());
        match self {
            Display::Live { bars, .. } => {
                bars[i].set_style(ended_style("✘"));
                bars[i].abandon_with_message(text);
            }
            Display::Lines | Display::Documents(_) => eprintln!("{}: watch failed: {text}", t.name),
        }
    }

    fn abandon(&self) {
        if let Display::Live { bars, .. } = self {
            for b in bars.iter().filter(|b| !b.is_finished()) {
                b.abandon();
            }
        }
    }
}

/// Watches every deployment in `names` to its end. Exit: 0 when all
/// succeeded, else the first failure in order: a call's status, FAILED,
/// CANCELLED, or a watch that ended before its deployment did.
pub(crate) async fn follow(conn: &Conn, format: Format, names: Vec<String>) -> Result<Exit, Failure> {
    let mut streams = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let mut client = ReleaseServiceClient::new(conn.channel.clone());
        let req = conn.streaming(pb::WatchDeploymentRequest { name: name.clone(), view: 0 });
        let s = client.watch_deployment(req).await?.into_inner();
        streams.push(s.map(move |item| (i, item)).boxed());
    }
    let display = Display::new(format, &names);
    let mut tracked: Vec<Tracked> =
        names.iter().map(|n| Tracked { name: n.clone(), stages: Vec::new(), error: None }).collect();
    let mut all = stream::select_all(streams);
    while let Some((i, item)) = all.next().await {
        let t = &mut tracked[i];
        match item {
            Ok(resp) => {
                display.update(&resp);
                let Some(d) = &resp.deployment else { continue };
                if t.last() != Some(d.state()) {
                    t.stages.push(d.state());
                    display.changed(i, t, d);
                }
            }
            Err(s) => {
                display.failed(i, t, &s);
                t.error = Some(s);
            }
        }
    }
    display.abandon();
    for t in tracked {
        if let Some(s) = t.error {
            return Err(Failure::Status(s));
        }
        match t.last().and_then(outcome) {
            Some(Exit::Ok) => {}
            Some(end) => return Ok(end),
            None => {
                return Err(Failure::Status(tonic::Status::deadline_exceeded(format!(
                    "the watch of {} ended before the deployment did (last state {})",
                    t.name,
                    t.last().map(state_name).unwrap_or_else(|| "none".into())
                ))));
            }
        }
    }
    Ok(Exit::Ok)
}
