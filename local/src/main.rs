//! The `kefu` binary. `kefu serve` runs Kefu locally; `kefu serve --demo` also creates a demo tenant and
//! prints how to sign in.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kefu", version, about = "Kefu customer service: run it locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the widget endpoints and every consumer in one process.
    Serve {
        /// Create a demo tenant with an admin and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Republish outbox entries now (operations), then exit.
    SweepOutbox,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kefu_app::logging::init();
    let cli = Cli::parse();
    let config = match kefu_local::ServeConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kefu: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve { demo } => kefu_local::cli::serve(config, demo).await,
        Command::SweepOutbox => kefu_local::cli::sweep_outbox(config).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
