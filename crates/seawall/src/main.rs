//! The `seawall` binary: flags and glue. Engines live in the library crates.

mod cli;
mod demo_cmd;
mod diff_cmd;
mod hunt_cmd;
mod hunt_extras;
mod kb_cmd;
mod kb_text;
mod output;
mod progress;
mod report_cmd;
mod rules_cmd;
mod scan_cmd;
mod stored;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use seawall_report::escape::terminal;

use crate::cli::{Cli, Command};

/// Exit code when errors occurred (bad input, unreadable files); results may be partial.
const EXIT_ERRORS: u8 = 2;

fn main() -> ExitCode {
    install_panic_hook();
    // nmap's `-iL FILE` is a two-letter short flag, which clap cannot express.
    let args = std::env::args_os().map(|arg| if arg == "-iL" { "--input-list".into() } else { arg });
    let cli = Cli::parse_from(args);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::Kb(command) => kb_cmd::run(&cli, command, &mut out),
        Command::Scan(args) => scan_cmd::run(&cli, args),
        Command::Hunt(args) => hunt_cmd::run(&cli, args),
        Command::Report(args) => report_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(&cli, args, &mut out),
        Command::Diff(args) => diff_cmd::run_diff(args),
        Command::Runs(args) => diff_cmd::run_runs(args, &mut out),
        Command::Rules(cli::RulesCommand::List(args)) => rules_cmd::run_list(args, &mut out),
        Command::Rules(cli::RulesCommand::Lint(args)) => rules_cmd::run_lint(args, &mut out),
    };
    let flushed = out.flush();
    match result.and_then(|code| flushed.map(|()| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // Errors quote file contents and server replies: each line is escaped like terminal output.
            let text = format!("{error:#}");
            let mut stderr = io::stderr().lock();
            for line in text.lines() {
                let _ = writeln!(stderr, "seawall: {}", terminal(line));
            }
            ExitCode::from(EXIT_ERRORS)
        }
    }
}

/// A panic's message can quote hostile bytes (a reader's bug met by crafted evidence): it
/// is printed escaped like all terminal output. Where a panic is caught (a hunt's per-file
/// boundary), the run goes on and reports it as an error record.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = writeln!(io::stderr(), "seawall: internal error{place}: {}", terminal(message));
    }));
}

/// `seawall kb list builds | head` must end quietly.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}
