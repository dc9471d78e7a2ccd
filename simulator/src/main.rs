//! `vpsie-sim`: the command-line entry point. Each subcommand lives in its own module under
//! `cli/`; adding one is one line in the `commands!` list below.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Declares the subcommands: each entry is `Variant(ArgsType)`, where `ArgsType` implements
/// `cli::Run`. The doc comment on an entry is its `--help` summary.
macro_rules! commands {
    ($( $(#[$meta:meta])* $variant:ident($args:ty), )*) => {
        #[derive(Debug, clap::Subcommand)]
        enum Command {
            $( $(#[$meta])* $variant($args), )*
        }

        impl Command {
            fn run(self, out: &mut dyn std::io::Write) -> Result<(), cli::CliError> {
                match self {
                    $( Command::$variant(args) => cli::Run::run(args, out), )*
                }
            }
        }
    };
}

commands! {
    /// Plan a scale-up for a cluster snapshot (JSON or YAML) and explain every pending pod.
    Plan(cli::plan::PlanArgs),
    /// Print the JSON Schema of a file format.
    Schema(cli::schema::SchemaArgs),
    /// Simulate a scenario (the built-in quickstart by default) and write the report.
    Run(cli::run::RunArgs),
    /// Run one scenario under two autoscaler configurations, side by side.
    Compare(cli::compare::CompareArgs),
    /// Packing quality of the planner on bin-packing benchmarks with known optima, beside FFD.
    Quality(cli::quality::QualityArgs),
    /// Convert a real trace (Alibaba openb, Azure VMs) into a scenario.
    Import(cli::import::ImportArgs),
    /// Serve the simulated VPSie cloud over HTTP (the VPSie API mock; see docs/vpsie-mock.md).
    MockVpsie(cli::mock_vpsie::MockVpsieArgs),
    /// Seeded simulations under random cloud faults and restarts, checked for broken invariants.
    Chaos(cli::chaos::ChaosArgs),
}

/// Simulator and planning tools for the VPSie Kubernetes autoscaler.
#[derive(Debug, Parser)]
#[command(name = "vpsie-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command.run(&mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
