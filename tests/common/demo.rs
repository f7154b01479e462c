//! The demo (`datastudio-gateway demo` on free loopback ports) started as
//! a user starts it, and what it prints on the way up.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
};

/// The lines the demo printed up to "Stop with Ctrl-C": its addresses and
/// how to call it.
pub struct Printed(Vec<String>);

impl Printed {
    /// The value of the first `key=value` word printed (`grpc=`, `admin=`).
    pub fn field(&self, key: &str) -> &str {
        self.0
            .iter()
            .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix(key)))
            .unwrap_or_else(|| panic!("the demo prints {key}"))
    }

    /// The rest of the first line printed that starts with `prefix`.
    pub fn after(&self, prefix: &str) -> &str {
        self.0
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("the demo prints a line starting {prefix:?}"))
    }
}

/// Starts `cmd` (the binary, or a wrapper that execs it) as the demo and
/// reads its start-up lines. The rest of its output is read on in the
/// background, so it never blocks on a full pipe, and kept in the log
/// returned (start-up lines included).
pub fn start(mut cmd: Command) -> (Child, Printed, Arc<Mutex<String>>) {
    let mut child = cmd
        .args(["demo", "--grpc-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut printed = Vec::new();
    loop {
        let line = lines.next().expect("demo output").expect("line");
        let last = line.starts_with("Stop with Ctrl-C");
        printed.push(line);
        if last {
            break;
        }
    }
    let log = Arc::new(Mutex::new(printed.iter().map(|l| format!("{l}\n")).collect::<String>()));
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut l = kept.lock().expect("log");
            l.push_str(&line);
            l.push('\n');
        }
    });
    (child, Printed(printed), log)
}
