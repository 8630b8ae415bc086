//! One module per noun; each turns parsed arguments into API calls and rendered text.

mod access;
mod alerts;
mod backup;
mod cert;
mod competency;
mod course;
mod deadlines;
mod holder;
mod notify;
mod program;
mod report;
mod roster;
mod status;
mod team_status;
mod transcript;
mod watch;

use crate::api::{Api, DEFAULT_HOLDER};
use crate::cli::{
    CertCommand, Cli, Command, CompetencyCommand, CourseCommand, DEFAULT_SERVER, HolderCommand,
    ProgramCommand,
};
use crate::error::Error;
use crate::model::Holder;
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
    /// The holder id to send: `--holder` when given, else [`DEFAULT_HOLDER`], which every
    /// RPC that takes a holder id resolves to the default holder itself.
    pub fn holder_id(&self) -> &str {
        self.holder.as_deref().unwrap_or(DEFAULT_HOLDER)
    }

    /// How messages name the selected holder when its record was not fetched: "holder h2",
    /// or "the default holder".
    pub fn holder_label(&self) -> String {
        match self.holder.as_deref() {
            Some(id) if id != DEFAULT_HOLDER => format!("holder {id}"),
            _ => "the default holder".to_owned(),
        }
    }

    /// The selected holder's record, for what only it can say (its name, over per-holder
    /// tables).
    pub async fn holder(&self) -> Result<Holder, Error> {
        match self.holder.as_deref() {
            // GetHolder calls its holder id `id`; here it came from --holder.
            Some(id) if id != DEFAULT_HOLDER => self
                .api
                .holder(id)
                .await
                .map_err(|e| e.in_terms_of_flags(&[("id", "--holder")])),
            _ => self.api.default_holder().await,
        }
    }
}

/// The line over a per-holder table: what it lists and whose, "Courses of Dana Reyes (h1)".
pub fn whose(holder: &Holder, what: &str) -> String {
    format!("{what} of {} ({})\n", holder.name, holder.id)
}

/// Connects to `cli.server`, runs the command and returns what to print on stdout.
///
/// An empty `RECERT_SERVER` or `RECERT_HOLDER` (clap passes empty environment values
/// through) counts as unset.
pub async fn run(cli: Cli, out: Output) -> Result<String, Error> {
    let config = crate::config::load()?;
    let given = match cli.server.trim() {
        "" => None,
        _ if cli.server_is_default => None,
        server => Some(server),
    };
    let server = given
        .or(config
            .server
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()))
        .unwrap_or(DEFAULT_SERVER);
    let ca = cli
        .ca
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
        .or(config.ca.as_deref());
    let given_token = cli
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or(config.token.as_deref());
    let token = token(given_token, server);
    let api = Api::connect(server, ca, token.as_deref()).await?;
    let holder = match cli.holder.filter(|id| !id.trim().is_empty()) {
        Some(given) => Some(holder_by_name(&api, &given, "--holder").await?),
        None => None,
    };
    let context = Context { api, out, holder };
    // An import's violations name fields of the dump, which are what the user should look for.
    let rename = !matches!(cli.command, Command::Import(_) | Command::Roster(_));
    let arguments = positional_fields(&cli.command);
    let result = match cli.command {
        Command::Holder(command) => holder::run(&context, command).await,
        Command::Program(command) => program::run(&context, command).await,
        Command::Cert(command) => cert::run(&context, command).await,
        Command::Course(command) => course::run(&context, command).await,
        Command::Status(args) => status::run(&context, args).await,
        Command::Transcript(args) => transcript::run(&context, args).await,
        Command::Deadlines(args) => deadlines::run(&context, args).await,
        Command::Alerts(command) => alerts::run(&context, command).await,
        Command::Notify(command) => notify::run(&context, command).await,
        Command::Export(args) => backup::export(&context, args).await,
        Command::Import(args) => backup::import(&context, args).await,
        Command::Token(command) => access::token(&context, command).await,
        Command::Team(command) => access::team(&context, command).await,
        Command::History(args) => access::history(&context, args).await,
        Command::Competency(command) => competency::run(&context, command).await,
        Command::Report(args) => report::run(&context, args).await,
        Command::Roster(command) => roster::run(&context, command).await,
    };
    result.map_err(|e| {
        if rename {
            e.in_terms_of_flags(arguments)
        } else {
            e
        }
    })
}

/// What to send for a holder the user typed: an id (`h3`) or `default` as typed, else the
/// id of the one holder with that name (case ignored); `what` names the argument in errors.
pub async fn holder_by_name(api: &Api, given: &str, what: &str) -> Result<String, Error> {
    let given = given.trim();
    let looks_like_id = given == DEFAULT_HOLDER
        || given
            .strip_prefix('h')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if looks_like_id {
        return Ok(given.to_owned());
    }
    let holders = api.holders(None).await?;
    let matches: Vec<&Holder> = holders
        .iter()
        .filter(|h| h.name.trim().eq_ignore_ascii_case(given))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::Lookup(format!(
            "{what} {given:?}: no holder has that name or id (see: recert holder list)"
        ))),
        several => Err(Error::Lookup(format!(
            "{what} {given:?}: {} holders have that name ({}); give the holder id instead",
            several.len(),
            several
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The token to send: `--token` / `RECERT_TOKEN` (an empty one counts as unset), or the
/// config file's, when given; else, for a server on this machine, the admin token recertd wrote on first start into its
/// default data dir (`$XDG_DATA_HOME/recert/admin.token`), so one person on one machine never
/// handles a token. Another local user cannot read that file (0600), so it adds no access.
fn token(given: Option<&str>, server: &str) -> Option<String> {
    if let Some(token) = given.map(str::trim).filter(|t| !t.is_empty()) {
        return Some(token.to_owned());
    }
    if !is_local(server) {
        return None;
    }
    let dir = directories::ProjectDirs::from("", "", "recert")?;
    let text = std::fs::read_to_string(dir.data_dir().join("admin.token")).ok()?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Whether `server`'s host is this machine (a loopback address or `localhost`).
fn is_local(server: &str) -> bool {
    let rest = server.split_once("://").map_or(server, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The request fields a command takes as positional arguments, for error messages (the
/// flags are the same for every command; see `error::FLAGS`).
fn positional_fields(command: &Command) -> &'static [(&'static str, &'static str)] {
    match command {
        Command::Holder(HolderCommand::Add { .. }) => &[("holder.name", "the name")],
        Command::Course(CourseCommand::Log(_)) => &[("course.title", "the title")],
        Command::Program(ProgramCommand::Add(_)) => &[("program.slug", "the slug")],
        Command::Cert(CertCommand::Add { .. }) => &[("credential.program", "PROGRAM")],
        Command::Competency(CompetencyCommand::Program(_)) => &[],
        Command::Competency(_) => &[
            ("program", "--program"),
            ("skill", "--skill"),
            ("assessor", "--assessor"),
            ("elements", "--elements"),
            ("note", "--note"),
            ("assessed_on", "--date"),
            ("holder", "HOLDER"),
        ],
        _ => &[],
    }
}
