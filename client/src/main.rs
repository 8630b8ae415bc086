//! `recert`: the command-line client of recertd. Parses flags, runs one command on a
//! current-thread runtime, prints the result, and maps failure to one `error:` line and an
//! exit code (1 server said no, 2 usage, 3 daemon unreachable).

mod api;
mod cli;
mod commands;
mod credits;
mod error;
mod input;
mod model;
mod render;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::render::Output;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let out = Output::for_stdout(cli.output);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, out)) {
        Ok(text) => print(&text),
        Err(err) => {
            eprintln!("error: {}", one_line(&err.to_string()));
            ExitCode::from(err.exit_code())
        }
    }
}

/// Help and version go out as clap renders them; a usage mistake becomes one `error:` line
/// (clap's first line, without its "For more information" trailer) and exit code 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return ExitCode::from(2);
    }
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("error: invalid usage");
    eprintln!("{}", first.trim_end());
    ExitCode::from(2)
}

/// Writes the result; a closed pipe (`recert course list | head -1`) is not an error.
fn print(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write output: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Folds a multi-line message (some servers send them) into the one line we promise.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
