//! `recert`: the command-line client of recertd. Parses flags, runs one command on a
//! current-thread runtime, prints the result, and maps failure to an `error:` line and an
//! exit code (1 server said no, 2 usage, 3 daemon unreachable). Usage errors are clap's,
//! hints included.

mod api;
mod calendar;
mod cli;
mod commands;
mod config;
mod credits;
mod error;
mod input;
mod model;
mod render;
mod spelling;

use std::io::{self, Write};
use std::process::ExitCode;

use crate::cli::Cli;
use crate::render::Output;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
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
        Ok(text) => print(&render::terminal_safe(&text, out.color)),
        Err(err) => {
            let message = render::terminal_safe(&one_line(&err.to_string()), false);
            eprintln!("error: {message}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Help, version and usage mistakes go out as clap renders them: a usage error keeps its
/// hints (`tip: a similar argument exists`, `[possible values: ...]`, the names of missing
/// arguments) and the usage line, and exits 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
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
