//! One module per noun; each turns parsed arguments into API calls and rendered text.

mod alerts;
mod backup;
mod cert;
mod course;
mod deadlines;
mod holder;
mod notify;
mod program;
mod status;
mod watch;

use crate::api::Api;
use crate::cli::{Cli, Command, DEFAULT_SERVER};
use crate::error::Error;
use crate::render::Output;

/// What every command needs: the connection, the output format and the selected holder.
pub struct Context {
    /// The connected API.
    pub api: Api,
    /// How to print.
    pub out: Output,
    /// `--holder`, when given.
    pub holder: Option<String>,
}

impl Context {
    /// The holder to act for: `--holder` when given, else the server's default holder.
    ///
    /// "default" is passed through GetHolder too, because only GetHolder resolves it.
    pub async fn holder_id(&self) -> Result<String, Error> {
        match self.holder.as_deref() {
            Some("default") | None => Ok(self.api.default_holder().await?.id),
            Some(id) => Ok(id.to_owned()),
        }
    }
}

/// Connects to `cli.server`, runs the command and returns what to print on stdout.
///
/// An empty `RECERT_SERVER` or `RECERT_HOLDER` (clap passes empty environment values
/// through) counts as unset.
pub async fn run(cli: Cli, out: Output) -> Result<String, Error> {
    let server = match cli.server.trim() {
        "" => DEFAULT_SERVER,
        server => server,
    };
    let api = Api::connect(server).await?;
    let context = Context {
        api,
        out,
        holder: cli.holder.filter(|id| !id.trim().is_empty()),
    };
    match cli.command {
        Command::Holder(command) => holder::run(&context, command).await,
        Command::Program(command) => program::run(&context, command).await,
        Command::Cert(command) => cert::run(&context, command).await,
        Command::Course(command) => course::run(&context, command).await,
        Command::Status(args) => status::run(&context, args).await,
        Command::Deadlines(args) => deadlines::run(&context, args).await,
        Command::Alerts(command) => alerts::run(&context, command).await,
        Command::Notify(command) => notify::run(&context, command).await,
        Command::Export(args) => backup::export(&context, args).await,
        Command::Import(args) => backup::import(&context, args).await,
    }
}
