//! The layers of DESIGN.md, read from the source tree, so an import across a forbidden line
//! fails `cargo test`: actors publish to the bus or a sink and never reach the sockets; the
//! store never imports auth, state, http, actors, sockets or services; the domain is pure
//! (nothing of the crate but itself and the transport-free error type).

use crate::support::source_files;

/// Lines of the files under `dir` that name one of `forbidden` (as `crate::x` or `super`
/// paths are not used across layers here, this is what an import across a line looks like).
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in source_files(&[dir]) {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for m in forbidden {
                if code.contains(&format!("crate::{m}::"))
                    || code.contains(&format!("crate::{m}}}"))
                    || code.contains(&format!("crate::{{{m}"))
                    || code.ends_with(&format!("crate::{m};"))
                {
                    out.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    out
}

#[test]
fn actors_never_import_the_sockets_or_the_handlers() {
    let found = offenders("src/actors", &["ws", "http"]);
    assert!(found.is_empty(), "actors → ws/http:\n{}", found.join("\n"));
}

#[test]
fn the_store_imports_no_higher_layer() {
    let found = offenders(
        "src/db",
        &[
            "auth", "state", "http", "actors", "ws", "services", "raffle", "payments", "mail",
            "bus",
        ],
    );
    assert!(
        found.is_empty(),
        "db → a higher layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_is_pure() {
    let found = offenders(
        "src/domain",
        &[
            "auth",
            "state",
            "http",
            "actors",
            "ws",
            "services",
            "raffle",
            "payments",
            "mail",
            "bus",
            "db",
            "clock",
            "config",
            "telemetry",
            "ratelimit",
            "analytics",
            "drops",
            "server",
        ],
    );
    assert!(
        found.is_empty(),
        "domain → elsewhere:\n{}",
        found.join("\n")
    );
}
