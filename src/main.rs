//! The `livedrop` command: `serve` (default), `migrate`, `demo`, `admin create`.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use livedrop::config::Config;

#[derive(Parser)]
#[command(name = "livedrop", version, about = "Real-time commerce for creators")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the WebSocket feed and the pages (the default).
    Serve {
        /// Apply pending migrations before serving (always done in embedded mode).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Seed the demo storefront (if the store has none) and print its logins.
    Demo,
    /// Raffles: `raffle verify <proof.json | URL>` recomputes a draw from its proof.
    Raffle {
        #[command(subcommand)]
        command: RaffleCommand,
    },
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum RaffleCommand {
    /// Recompute a raffle's draw from its proof (a file or an http(s) URL). Exits 0 when
    /// everything matches, 1 naming each mismatch, 2 when the proof cannot be read.
    Verify {
        /// A proof.json file, `-` for standard input, or a URL such as
        /// https://host/api/raffles/<id>/proof
        proof: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account (or make an existing account an admin).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Verifying needs no configuration, store or network besides the proof itself.
    if let Some(Command::Raffle {
        command: RaffleCommand::Verify { proof },
    }) = &cli.command
    {
        return verify_proof(proof);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("livedrop: {e}");
            return ExitCode::from(2);
        }
    };
    livedrop::telemetry::init_logging(config.log_format);
    let result = actix_web::rt::System::new().block_on(run(cli, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livedrop: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve { migrate: false }) {
        Command::Serve { migrate } => serve(config, migrate).await,
        Command::Migrate => {
            let state = livedrop::state::AppState::build(config).await?;
            let applied = livedrop::db::migrations::run(&state.store).await?;
            println!(
                "applied {} migration(s): {}",
                applied.len(),
                applied.join(", ")
            );
            Ok(())
        }
        Command::Demo => {
            let mut config = config;
            config.seed_demo = false;
            let state = livedrop::server::prepare(config, true).await?;
            livedrop::demo::seed_if_empty(&state)
                .await
                .map_err(|e| e.to_string())?;
            print_demo(&state.config.public_url);
            Ok(())
        }
        Command::Raffle { .. } => Ok(()),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password_stdin,
                },
        } => {
            if !password_stdin {
                return Err(
                    "pass --password-stdin and write the password to standard input".into(),
                );
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let state = livedrop::server::prepare(config, false).await?;
            let why = |e: livedrop::error::AppError| format!("{} ({})", e, e.code());
            livedrop::domain::validate::password(&password)
                .map_err(|m| why(livedrop::error::AppError::field("password", m)))?;
            let hash = livedrop::auth::password::hash(password)
                .await
                .map_err(why)?;
            let id = livedrop::db::models::user::create_admin(&state.store, &email, hash)
                .await
                .map_err(why)?;
            println!("admin {email} ready (id {id})");
            Ok(())
        }
    }
}

async fn serve(config: Config, migrate: bool) -> Result<(), String> {
    let bind = config.bind;
    let embedded = config.is_embedded();
    config.check_serve().map_err(|e| e.to_string())?;
    if config.says_test_payments() {
        tracing::warn!(
            "PAYMENT_PROVIDER=test on a cluster node: no money moves, and every answer says so"
        );
    }
    let state = livedrop::server::prepare(config, migrate).await?;
    let public = state.config.public_url.clone();
    let listener = TcpListener::bind(bind).map_err(|e| format!("BIND {bind}: {e}"))?;
    // The real address: `BIND=…:0` picks a free port (tests, several local nodes).
    let bind = listener.local_addr().map_err(|e| e.to_string())?;
    let public = if public.ends_with(":0") {
        format!("http://{bind}")
    } else {
        public
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = livedrop::server::serve(state, listener, workers).map_err(|e| e.to_string())?;
    println!(
        "livedrop is listening on http://{bind} ({})",
        if embedded {
            "embedded mode: SQLite, in-process bus, outbox mail"
        } else {
            "cluster mode"
        }
    );
    if embedded {
        print_demo(&public);
    }
    println!("  API docs:     {public}/api/docs");
    server.await.map_err(|e| e.to_string())
}

fn print_demo(public: &str) {
    println!("  storefront:   {public}/s/{}", livedrop::demo::SLUG);
    println!("  dashboard:    {public}/dashboard   (sign in as the demo creator)");
    println!(
        "  demo creator: {} / {}",
        livedrop::demo::CREATOR_EMAIL,
        livedrop::demo::PASSWORD
    );
    println!(
        "  demo buyer:   {} / {}",
        livedrop::demo::BUYER_EMAIL,
        livedrop::demo::PASSWORD
    );
}

/// `livedrop raffle verify`: read the proof, recompute it, say what does not match.
fn verify_proof(source: &str) -> ExitCode {
    let bytes = match read_proof(source) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("livedrop raffle verify: {e}");
            return ExitCode::from(2);
        }
    };
    use livedrop::raffle::proof::{verify_json, VerifyError};
    match verify_json(&bytes) {
        Ok(s) => {
            println!(
                "verified: {} entries, {} tickets, {} winner(s), {} alternate(s) recomputed from the seed and the entries",
                s.entries, s.tickets, s.winners, s.alternates
            );
            ExitCode::SUCCESS
        }
        Err(VerifyError::Mismatch(problems)) => {
            eprintln!("NOT verified: {} problem(s)", problems.len());
            for p in problems {
                eprintln!("  - {p}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("livedrop raffle verify: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_proof(source: &str) -> Result<Vec<u8>, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        return rt.block_on(async {
            let res = reqwest::Client::new()
                .get(source)
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| format!("fetching {source}: {e}"))?;
            if !res.status().is_success() {
                return Err(format!("fetching {source}: HTTP {}", res.status()));
            }
            res.bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| format!("reading {source}: {e}"))
        });
    }
    if source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(source).map_err(|e| format!("reading {source}: {e}"))
}
