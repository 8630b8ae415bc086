//! The command line: `recert [--server URL] [--token T] [--output table|json] [--holder ID] <noun> <verb>`.
//!
//! Values are parsed and checked here (dates, amounts, spans, rules), so a bad value is a
//! clap usage error (exit 2) that names the flag, before anything is sent.

use clap::{Arg, ArgGroup, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use jiff::civil::Date;

use crate::credits::{Credits, parse_credits};
use crate::input::{
    parse_category_cap, parse_category_minimum, parse_date, parse_evidence, parse_format_cap,
    parse_threshold, parse_time_zone, parse_within,
};
use crate::model::{AlertFilter, CapRule, CategoryMinimum, CourseFormat, CourseUnit, Secret};
use crate::render::Format;

/// Where recertd listens unless `--server` or `RECERT_SERVER` says otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Log continuing-education courses and see what each credential still needs, and by when.
#[derive(Debug, Parser)]
#[command(name = "recert", version)]
pub struct Cli {
    /// Address of recertd.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "RECERT_SERVER",
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    pub server: String,

    /// Tables for people or stable JSON for scripts.
    #[arg(
        long,
        short = 'o',
        global = true,
        help_heading = "Global options",
        env = "RECERT_OUTPUT",
        value_enum,
        default_value_t = Format::Table
    )]
    pub output: Format,

    /// Bearer token for recertd [default: `token` in the config file, else a local
    /// server's admin.token in the default data dir].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "RECERT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// Act for this holder instead of the default one.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "RECERT_HOLDER",
        value_name = "ID"
    )]
    pub holder: Option<String>,

    /// PEM certificate of the CA that signed an https:// server's certificate [default: the
    /// web PKI roots].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "RECERT_CA",
        value_name = "FILE"
    )]
    pub ca: Option<std::path::PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Whether `server` is the built-in default (neither `--server` nor `RECERT_SERVER`
    /// gave it), so the config file may set it.
    #[arg(skip)]
    pub server_is_default: bool,
}

impl Cli {
    /// Parses the process's arguments with [`command`]'s help pages.
    pub fn parse_args() -> Result<Self, clap::Error> {
        let mut matches = command().try_get_matches()?;
        let default =
            matches.value_source("server") == Some(clap::parser::ValueSource::DefaultValue);
        let mut cli =
            Self::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command()))?;
        cli.server_is_default = default;
        Ok(cli)
    }
}

/// What subcommand pages say instead of repeating the global options.
const GLOBAL_OPTIONS_NOTE: &str = "Global options (--server URL, -o/--output table|json, --holder ID, --ca FILE, \
     --token TOKEN) work here too; see: recert --help";

/// The command line as clap builds it from [`Cli`], except that subcommand help pages end
/// with one line about the global options instead of listing all of them again.
///
/// clap copies a global option into every subcommand unless one with the same id is there
/// already, so each subcommand gets a hidden copy: it parses the same (same id, still
/// global), it just does not show.
pub fn command() -> clap::Command {
    let root = Cli::command();
    let hidden: Vec<Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide(true))
        .collect();
    root.mut_subcommands(|sub| hide_globals(sub, &hidden))
}

/// Adds the hidden global options and the note to `command` and all its subcommands.
fn hide_globals(command: clap::Command, hidden: &[Arg]) -> clap::Command {
    hidden
        .iter()
        .fold(command, |command, arg| command.arg(arg.clone()))
        .after_help(GLOBAL_OPTIONS_NOTE)
        .mut_subcommands(|sub| hide_globals(sub, hidden))
}

/// The nouns.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// People who hold credentials.
    #[command(subcommand)]
    Holder(HolderCommand),
    /// Certification programs and their renewal rules.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Credentials (certifications) a holder holds.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Completed continuing-education courses.
    #[command(subcommand)]
    Course(CourseCommand),
    /// What each of the holder's credentials still needs, and by when.
    Status(StatusArgs),
    /// Every course a credential's cycle counted, with the amount after caps (for an audit).
    Transcript(TranscriptArgs),
    /// Upcoming expiries across the team, soonest first.
    Deadlines(DeadlinesArgs),
    /// Renewal and expiry alerts: list, acknowledge, snooze, mute, watch, test.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Where the holder's alerts are delivered: webhooks and e-mail addresses.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Write the whole store as a recert-export dump (JSON Lines, docs/EXPORT.md).
    Export(ExportArgs),
    /// Restore a recert-export dump: all of it, or nothing if any line is wrong.
    Import(ImportArgs),
    /// Bearer tokens: make, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Teams of holders, and who leads them.
    #[command(subcommand)]
    Team(TeamCommand),
    /// The audit trail: who changed what, when, and the fields before and after.
    History(HistoryArgs),
    /// Competency assessments (CLIA, CAP): log them, and see what is due.
    #[command(subcommand)]
    Competency(CompetencyCommand),
    /// Import holders, their teams and credentials from a CSV file (or print its template).
    #[command(subcommand)]
    Roster(RosterCommand),
    /// A printable report (one self-contained HTML page) of --holder, or of a team.
    Report(ReportArgs),
}

/// `recert report --html FILE [--team T]`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the page to this file (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    pub html: std::path::PathBuf,
    /// Every member of this team (id or name) instead of --holder.
    #[arg(long, value_name = "T")]
    pub team: Option<String>,
}

/// A competency assessment's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AssessmentResult {
    /// Competent.
    Pass,
    /// Retrain and assess again (due again in the program's remediation time).
    Remediate,
}

/// `recert roster ...`
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Print the CSV header and an example row: `recert roster template > roster.csv`.
    Template,
    /// Import a roster: one row per credential (a holder with several repeats name and
    /// e-mail), holders matched by e-mail. Every cell is checked first and every bad one
    /// named by line and column; then all is written in one transaction, or nothing.
    Import {
        /// The CSV file, with a header row (see `recert roster template`).
        file: std::path::PathBuf,
        /// Check everything and print what would be done; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `recert competency ...`
#[derive(Debug, Subcommand)]
pub enum CompetencyCommand {
    /// Record an assessment of a holder's skill (admin or supervisor).
    Log {
        /// Holder id or name.
        #[arg(value_name = "HOLDER")]
        person: String,
        /// Competency program (see: recert competency programs).
        #[arg(long, value_name = "P")]
        program: String,
        /// The skill or test system assessed, e.g. "venipuncture".
        #[arg(long, value_name = "S")]
        skill: String,
        /// The day of the assessment (default: today).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        date: Option<Date>,
        /// Who assessed.
        #[arg(long, value_name = "NAME")]
        assessor: String,
        /// The program's elements covered, by number, e.g. 1,2,6.
        #[arg(long, value_name = "N,N", value_parser = crate::input::parse_elements)]
        elements: Elements,
        /// pass, or remediate (due again in the program's remediation time, 30 days).
        #[arg(long, value_enum)]
        result: AssessmentResult,
        /// A note.
        #[arg(long, value_name = "N")]
        note: Option<String>,
    },
    /// Track a skill before its first assessment (due from the hire date).
    Assign {
        /// Holder id or name.
        #[arg(value_name = "HOLDER")]
        person: String,
        /// Competency program.
        #[arg(long, value_name = "P")]
        program: String,
        /// The skill or test system.
        #[arg(long, value_name = "S")]
        skill: String,
    },
    /// Where each tracked skill stands: last assessed, next due, status (of --holder, else
    /// the default holder, or of every member of --team).
    Status {
        /// Every member of a team (id or name).
        #[arg(long, value_name = "T")]
        team: Option<String>,
    },
    /// The competency programs and their elements (as `competency program list`).
    Programs,
    /// A lab's own competency programs: list, add, edit, remove (admins).
    #[command(subcommand)]
    Program(CompetencyProgramCommand),
}

/// `recert competency program ...`
#[derive(Debug, Subcommand)]
pub enum CompetencyProgramCommand {
    /// The competency programs in force, built-in and the lab's own (`local`).
    List,
    /// Add a competency program from a TOML file shaped like one `[[competency]]` table of the
    /// daemon's catalog/competencies.toml (slug, name, elements, initial_months,
    /// every_months, remediate_days, sources, notes); a built-in slug replaces the built-in
    /// program.
    Add {
        /// The TOML file.
        #[arg(value_name = "FILE.toml")]
        file: std::path::PathBuf,
    },
    /// Change a competency program: the whole of it from --file, or only the flags given (of
    /// the program in force; a built-in one is then stored as the lab's edit of it). Every
    /// holder's next due date on it moves at once.
    Edit(Box<CompetencyEditArgs>),
    /// Remove a lab's competency program (refused while holders have skills on it); removing
    /// the lab's edit of a built-in program puts the built-in one back.
    Remove {
        /// Program slug.
        slug: String,
    },
}

/// `recert competency program edit SLUG ...`: only the flags given change.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("changes").multiple(true).required(true)))]
pub struct CompetencyEditArgs {
    /// Program slug, e.g. phlebotomy-annual.
    pub slug: String,
    /// The whole program from a TOML file (as `program add`), its slug SLUG.
    #[arg(long, value_name = "FILE.toml", group = "changes", conflicts_with_all = ["name", "element", "initial_months", "every_months", "remediate_days", "notes"])]
    pub file: Option<std::path::PathBuf>,
    /// Display name.
    #[arg(long, value_name = "NAME", group = "changes")]
    pub name: Option<String>,
    /// The elements, in order (repeat the flag; replaces them all).
    #[arg(long, value_name = "TEXT", group = "changes")]
    pub element: Vec<String>,
    /// Months after hire of the first assessments, e.g. 6,12 ("" for none).
    #[arg(long, value_name = "M,M", group = "changes", value_parser = parse_months)]
    pub initial_months: Option<Months>,
    /// Months from the last pass to the next assessment after the initial ones.
    #[arg(long, value_name = "N", group = "changes")]
    pub every_months: Option<u32>,
    /// Days after a remediate result until the skill is due again.
    #[arg(long, value_name = "N", group = "changes")]
    pub remediate_days: Option<u32>,
    /// Notes.
    #[arg(long, value_name = "TEXT", group = "changes")]
    pub notes: Option<String>,
}

/// Month counts as typed (`6,12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Months(pub Vec<u32>);

/// Parses `--initial-months 6,12` (empty: none).
fn parse_months(input: &str) -> Result<Months, String> {
    input
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u32>()
                .map_err(|_| format!("{p:?} is not a number of months (e.g. 6,12)"))
        })
        .collect::<Result<Vec<u32>, String>>()
        .map(Months)
}

/// Element numbers as typed (`1,2,6`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elements(pub Vec<u32>);

/// `recert history [--credential C] [--since DATE]`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this credential's changes.
    #[arg(long, value_name = "ID")]
    pub credential: Option<String>,
    /// Only changes on or after this date (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<Date>,
    /// Every holder you may see, not only --holder (or the default one).
    #[arg(long)]
    pub all_holders: bool,
}

/// A token's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Everything.
    Admin,
    /// The holders of the teams their holder leads.
    Supervisor,
    /// Their own records only.
    Holder,
}

/// `recert token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (shown once); a supervisor or holder token acts
    /// for --holder.
    Create {
        /// What it may do.
        #[arg(long, value_enum)]
        role: Role,
        /// Refuse it after this long: 90d, 12w, or an RFC 3339 instant.
        #[arg(long, value_name = "SPAN", value_parser = crate::input::parse_expiry)]
        expires: Option<jiff::Timestamp>,
        /// A name to recognise it by.
        #[arg(long, value_name = "N")]
        name: Option<String>,
        /// A supervisor token bound to a lead of this team (id or name): its only lead, or
        /// the one --holder names.
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token: refused from its next call.
    Revoke {
        /// The token's id (tk1).
        id: String,
    },
}

/// `recert team ...`
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Add a team.
    Add {
        /// Its name.
        name: String,
    },
    /// List teams.
    List,
    /// Show a team's members and leads.
    Show {
        /// A team id (tm1) or name.
        team: String,
    },
    /// Add a holder to a team.
    AddMember {
        /// A team id or name.
        team: String,
        /// A holder id.
        #[arg(value_name = "HOLDER")]
        member: String,
    },
    /// Remove a holder from a team.
    RemoveMember {
        /// A team id or name.
        team: String,
        /// A holder id.
        #[arg(value_name = "HOLDER")]
        member: String,
    },
    /// Make a holder a lead of a team (their supervisor token sees its members).
    AddLead {
        /// A team id or name.
        team: String,
        /// A holder id.
        #[arg(value_name = "HOLDER")]
        member: String,
    },
    /// Every credential of a team's members, worst first: expired, in grace, at risk, the rest.
    Status(TeamStatusArgs),
}

/// `recert team status ...`
#[derive(Debug, Args)]
pub struct TeamStatusArgs {
    /// A team id (tm1) or name; without it, every team you lead (an admin: every holder).
    pub team: Option<String>,
    /// Only these statuses, comma-separated: expired (or lapsed), in_grace, at_risk,
    /// on_track, met.
    #[arg(
        long,
        value_name = "STATUS",
        value_enum,
        value_delimiter = ',',
        ignore_case = true
    )]
    pub status: Vec<StatusFilter>,
    /// Only credentials of this program (a slug, e.g. ca-cpt1).
    #[arg(long, value_name = "SLUG")]
    pub program: Option<String>,
    /// Only credentials expiring within this span (90d, 12w, 6m, 1y); expired and in grace
    /// ones always show.
    #[arg(long, value_name = "SPAN", value_parser = parse_within)]
    pub within: Option<i32>,
    /// Compute for this date instead of each member's today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Write CSV (a header line, then one line per credential), whatever --output says.
    #[arg(long)]
    pub csv: bool,
}

/// A status `team status --status` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    /// Past expiry and grace.
    #[value(alias = "lapsed")]
    Expired,
    /// Past expiry, inside the grace period.
    #[value(name = "in_grace", alias = "in-grace")]
    InGrace,
    /// Behind pace, or close to expiry with credits missing.
    #[value(name = "at_risk", alias = "at-risk")]
    AtRisk,
    /// Not met yet, but on pace.
    #[value(name = "on_track", alias = "on-track")]
    OnTrack,
    /// Every requirement met.
    Met,
}

/// `recert export ...`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file (created new, readable by you only) instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
    /// Replace --file's PATH if it exists.
    #[arg(long, requires = "file")]
    pub force: bool,
    /// Leave webhook secrets out of the dump (needed to print it on a terminal).
    #[arg(long)]
    pub no_secrets: bool,
}

/// `recert import [FILE | --file FILE]`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Read the dump from this file instead of stdin ("-" is stdin).
    #[arg(value_name = "FILE", conflicts_with = "file")]
    pub path: Option<std::path::PathBuf>,
    /// The same as FILE.
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Restore only these records of the dump (ids such as h1, cr2, co3, ch1, al1; what
    /// they reference must be in the store or chosen too). Default: the whole dump.
    #[arg(long, value_name = "ID", num_args = 1.., value_delimiter = ',')]
    pub only: Vec<String>,
    /// A holder, credential or course of the dump that differs from the store's record
    /// with its id replaces it. Default: such a record is refused and nothing is written.
    #[arg(long)]
    pub replace: bool,
}

impl ImportArgs {
    /// The file named either way, if any.
    pub fn source(&self) -> Option<&std::path::Path> {
        self.path.as_deref().or(self.file.as_deref())
    }
}

/// `--limit N` on list commands.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Stop after this many items (default: all).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

impl ListArgs {
    /// The limit as a count.
    pub fn limit(&self) -> Option<usize> {
        self.limit.and_then(|n| usize::try_from(n).ok())
    }
}

/// `recert holder ...`
#[derive(Debug, Subcommand)]
pub enum HolderCommand {
    /// Add a holder (the first one becomes the default).
    Add {
        /// Display name.
        name: String,
        /// E-mail address, kept on the holder's record (alerts go to the channels of
        /// `recert notify add`).
        #[arg(long, value_name = "E")]
        email: Option<String>,
        /// IANA time zone (default: this computer's zone).
        #[arg(long, value_name = "ZONE", value_parser = parse_time_zone)]
        tz: Option<String>,
        /// Hire date, from which competency assessments are scheduled.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        hired: Option<Date>,
    },
    /// List holders.
    List(ListArgs),
    /// Show a holder (default: --holder, else the default holder).
    Show {
        /// Holder id.
        id: Option<String>,
    },
    /// Change a holder: give at least one change.
    #[command(
        override_usage = "recert holder edit <ID> [--name N] [--email E] [--tz ZONE] [--hired DATE] [--default]",
        group(ArgGroup::new("changes").required(true).multiple(true)
            .args(["name", "email", "tz", "hired", "default"]))
    )]
    Edit {
        /// Holder id.
        id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New e-mail address ("" removes it).
        #[arg(long, value_name = "E")]
        email: Option<String>,
        /// New IANA time zone.
        #[arg(long, value_name = "ZONE", value_parser = parse_time_zone)]
        tz: Option<String>,
        /// New hire date.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        hired: Option<Date>,
        /// Make this the default holder.
        #[arg(long)]
        default: bool,
    },
    /// Remove a holder.
    Remove {
        /// Holder id.
        id: String,
        /// Also remove the holder's credentials and courses.
        #[arg(long)]
        force: bool,
    },
}

/// `recert program ...`
#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// List programs (built-in and local).
    List(ListArgs),
    /// Show a program's renewal rules and sources.
    Show {
        /// Program slug, e.g. nha-cpt.
        slug: String,
    },
    /// Add a custom program; a built-in slug creates a local override.
    Add(Box<ProgramAddArgs>),
    /// Remove a custom program or a local override (restoring the built-in one).
    Remove {
        /// Program slug.
        slug: String,
    },
    /// Change some rules of a program; for a built-in one, override only those rules and keep
    /// the rest (body, name, sources, notes and the other rules follow the catalog).
    Edit(Box<ProgramEditArgs>),
    /// Drop local rules of a built-in program (all of them, or the fields given).
    Reset {
        /// Program slug.
        slug: String,
        /// A local field to drop, e.g. unit_hours (repeatable; none: every local field).
        #[arg(long, value_name = "FIELD", value_parser = parse_program_field)]
        field: Vec<String>,
    },
}

/// The rules `program edit` and `program reset --field` name, as `program show -o json`'s
/// `local_fields` spells them.
pub const PROGRAM_FIELDS: [&str; 9] = [
    "cycle_months",
    "ce_window_months",
    "unit_hours",
    "required",
    "category_minimums",
    "caps",
    "grace_days",
    "shares_courses",
    "accepted_accreditations",
];

/// A rule field of `program reset --field` (case-insensitive, `-` for `_` accepted).
fn parse_program_field(input: &str) -> Result<String, String> {
    let name = input.trim().to_ascii_lowercase().replace('-', "_");
    if PROGRAM_FIELDS.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(format!(
            "{input:?} is not a rule field [possible values: {}]",
            PROGRAM_FIELDS.join(", ")
        ))
    }
}

/// `recert program edit SLUG ...`: only the flags given change.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("rules").multiple(true).required(true)))]
#[command(group(ArgGroup::new("sharing").args(["share", "no_share"])))]
pub struct ProgramEditArgs {
    /// Program slug, e.g. nha-cpt.
    pub slug: String,
    /// Length of a certification cycle in months.
    #[arg(long, value_name = "M", group = "rules", value_parser = clap::value_parser!(i32).range(1..=600))]
    pub cycle_months: Option<i32>,
    /// Length of the CE window ending on the expiry date.
    #[arg(long, value_name = "W", group = "rules", value_parser = clap::value_parser!(i32).range(1..=600))]
    pub window_months: Option<i32>,
    /// Credits required per cycle.
    #[arg(long, value_name = "X", group = "rules", value_parser = parse_credits)]
    pub required: Option<Credits>,
    /// Contact hours per unit.
    #[arg(long, value_name = "H", group = "rules", value_parser = parse_credits)]
    pub unit_hours: Option<Credits>,
    /// Days after expiry during which renewal is still possible.
    #[arg(long, value_name = "D", group = "rules", value_parser = clap::value_parser!(i32).range(0..=3650))]
    pub grace_days: Option<i32>,
    /// Minimum credits in a category, e.g. safety=1 (repeatable; replaces all minimums).
    #[arg(long, value_name = "CAT=X", group = "rules", value_parser = parse_category_minimum)]
    pub category_min: Vec<CategoryMinimum>,
    /// Cap on a category: CAT=PCT% or CAT=X (repeatable; with --cap-format, replaces all caps).
    #[arg(long, value_name = "CAT=LIMIT", group = "rules", value_parser = parse_category_cap)]
    pub cap_category: Vec<CapRule>,
    /// Cap on a course format: FORMAT=PCT% or FORMAT=X (repeatable; replaces all caps).
    #[arg(long, value_name = "FORMAT=LIMIT", group = "rules", value_parser = parse_format_cap)]
    pub cap_format: Vec<CapRule>,
    /// Accepted accreditation (repeatable; replaces the list).
    #[arg(long, value_name = "A", group = "rules")]
    pub accreditation: Vec<String>,
    /// Let a course count toward this and another credential at the same time.
    #[arg(long, group = "rules")]
    pub share: bool,
    /// Do not let a course count toward this and another credential at the same time.
    #[arg(long, group = "rules")]
    pub no_share: bool,
}

/// `recert program add ...`
#[derive(Debug, Args)]
pub struct ProgramAddArgs {
    /// Short lowercase id, e.g. state-cpt.
    pub slug: String,
    /// Certifying body, e.g. NHA.
    #[arg(long, value_name = "B")]
    pub body: String,
    /// Full name of the credential.
    #[arg(long, value_name = "N")]
    pub name: String,
    /// Length of a certification cycle in months.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(i32).range(1..=600))]
    pub cycle_months: i32,
    /// Length of the CE window ending on the expiry date (default: the cycle).
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(i32).range(1..=600))]
    pub window_months: Option<i32>,
    /// Credits required per cycle.
    #[arg(long, value_name = "X", value_parser = parse_credits)]
    pub required: Credits,
    /// Name of the credit unit.
    #[arg(long, value_name = "NAME", default_value = "contact hour")]
    pub unit_name: String,
    /// Contact hours per unit.
    #[arg(long, value_name = "H", value_parser = parse_credits, default_value = "1")]
    pub unit_hours: Credits,
    /// Days after expiry during which renewal is still possible.
    #[arg(long, value_name = "D", default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=3650))]
    pub grace_days: i32,
    /// Minimum credits in a category, e.g. safety=1 (repeatable).
    #[arg(long, value_name = "CAT=X", value_parser = parse_category_minimum)]
    pub category_min: Vec<CategoryMinimum>,
    /// Cap on a category: CAT=PCT% of the requirement or CAT=X credits (repeatable).
    #[arg(long, value_name = "CAT=LIMIT", value_parser = parse_category_cap)]
    pub cap_category: Vec<CapRule>,
    /// Cap on a course format: FORMAT=PCT% or FORMAT=X (repeatable).
    #[arg(long, value_name = "FORMAT=LIMIT", value_parser = parse_format_cap)]
    pub cap_format: Vec<CapRule>,
    /// Accepted accreditation, e.g. P.A.C.E. (repeatable; none given accepts any)
    #[arg(long, value_name = "A")]
    pub accreditation: Vec<String>,
    /// Where the rules are published (repeatable).
    #[arg(long, value_name = "URL")]
    pub source: Vec<String>,
    /// Do not let a course count toward this and another credential at the same time.
    #[arg(long)]
    pub no_share: bool,
    /// Free-form notes.
    #[arg(long, value_name = "TEXT")]
    pub notes: Option<String>,
}

/// `recert cert ...`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Add a credential the holder holds.
    Add {
        /// Program slug, e.g. nha-cpt (see: recert program list).
        program: String,
        /// Expiry date of the current cycle.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        expires: Date,
        /// Certificate number.
        #[arg(long, value_name = "N")]
        number: Option<String>,
        /// Issue date of the current cycle.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        issued: Option<Date>,
    },
    /// List the holder's credentials.
    List(ListArgs),
    /// Show a credential and its past cycles.
    Show {
        /// Credential id, e.g. cr1.
        id: String,
    },
    /// Record a renewal: close the current cycle (keeping what it counted) and start the next.
    /// Refused while the cycle's requirements are unmet or the credential has lapsed.
    Renew {
        /// Credential id.
        id: String,
        /// New expiry date (default: current expiry plus the program's cycle).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        expires: Option<Date>,
        /// Date of renewal (default: today).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        on: Option<Date>,
        /// Renew even though CE is missing or the credential has lapsed.
        #[arg(long)]
        force: bool,
        /// Revert the last renewal exactly (dates, history, the closed cycle's record).
        #[arg(long, conflicts_with_all = ["expires", "on", "force"])]
        undo: bool,
    },
    /// Record a check of a credential against its issuing body's registry: what you saw, where
    /// and when (recert does not look itself). Needs a supervisor or admin token; a
    /// credential renewed since its last check shows as unverified.
    Verify {
        /// Credential id.
        id: String,
        /// What the registry showed.
        #[arg(long, value_name = "RESULT", value_parser = ["active", "not-found", "expired", "mismatch"])]
        result: String,
        /// Where you checked (the registry's URL or name).
        #[arg(long, value_name = "URL")]
        source: Option<String>,
        /// Who checked (default: your token's name, else its holder's name).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// The day of the check (default: today).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        on: Option<Date>,
    },
    /// Correct a credential's number or dates: give at least one change.
    #[command(
        override_usage = "recert cert edit <ID> [--number N] [--issued DATE] [--expires DATE]",
        group(ArgGroup::new("changes").required(true).multiple(true)
            .args(["number", "issued", "expires"]))
    )]
    Edit {
        /// Credential id.
        id: String,
        /// Certificate number ("" removes it).
        #[arg(long, value_name = "N")]
        number: Option<String>,
        /// Issue date.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        issued: Option<Date>,
        /// Expiry date.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        expires: Option<Date>,
    },
    /// Remove a credential.
    Remove {
        /// Credential id.
        id: String,
        /// Remove it even though courses are pinned to it (they are unpinned).
        #[arg(long)]
        force: bool,
    },
}

/// `recert course ...`
#[derive(Debug, Subcommand)]
pub enum CourseCommand {
    /// Log a completed course.
    Log(CourseLogArgs),
    /// List the holder's courses.
    List(ListArgs),
    /// Show a course.
    Show {
        /// Course id, e.g. co1.
        id: String,
    },
    /// Change a course.
    Edit(CourseEditArgs),
    /// Remove a course.
    Remove {
        /// Course id.
        id: String,
    },
}

/// `recert course log ...`
#[derive(Debug, Args)]
pub struct CourseLogArgs {
    /// Course title.
    pub title: String,
    /// Amount awarded, e.g. 1.5.
    #[arg(long, value_name = "N", value_parser = parse_credits, allow_negative_numbers = true)]
    pub credits: Credits,
    /// Unit of --credits.
    #[arg(long, value_enum, ignore_case = true, default_value_t = CourseUnit::Hours)]
    pub unit: CourseUnit,
    /// Completion date (default: today in the holder's time zone, as the daemon sees it).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub date: Option<Date>,
    /// Provider.
    #[arg(long, value_name = "P")]
    pub provider: Option<String>,
    /// Accreditation or approval, e.g. P.A.C.E. or ASCLS
    #[arg(long, value_name = "A")]
    pub accreditation: Option<String>,
    /// Category, e.g. safety (repeatable).
    #[arg(long, value_name = "C")]
    pub category: Vec<String>,
    /// How the course was delivered.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<CourseFormat>,
    /// Count only toward this credential: an id (cr3) or a program slug (nha-cpt) (repeatable).
    #[arg(long = "for", value_name = "CREDENTIAL")]
    pub for_credentials: Vec<String>,
    /// Certificate file (must exist; stored as its absolute path) or URL.
    #[arg(long, value_name = "PATH", value_parser = parse_evidence)]
    pub evidence: Option<String>,
    /// Log it even though a course with the same title, date and amount is logged.
    #[arg(long)]
    pub allow_duplicate: bool,
    /// Log it for every member of this team (an id or name), in one transaction.
    #[arg(long, value_name = "TEAM", conflicts_with = "for_credentials")]
    pub team: Option<String>,
    /// Log it for these holders (ids or names, comma-separated), in one transaction.
    #[arg(
        long,
        value_name = "H,H,...",
        value_delimiter = ',',
        conflicts_with = "for_credentials"
    )]
    pub holders: Vec<String>,
}

/// `recert course edit ...`; at least one change is required.
#[derive(Debug, Args)]
#[command(override_usage = "recert course edit <ID> <OPTIONS>... (at least one change)")]
#[command(group(ArgGroup::new("changes").required(true).multiple(true).args([
    "title", "credits", "unit", "date", "provider", "accreditation", "category",
    "clear_categories", "format", "for_credentials", "clear_for", "evidence",
])))]
pub struct CourseEditArgs {
    /// Course id.
    pub id: String,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// Amount awarded.
    #[arg(long, value_name = "N", value_parser = parse_credits, allow_negative_numbers = true)]
    pub credits: Option<Credits>,
    /// Unit of the credits.
    #[arg(long, value_enum, ignore_case = true)]
    pub unit: Option<CourseUnit>,
    /// Completion date.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub date: Option<Date>,
    /// Provider ("" removes it).
    #[arg(long, value_name = "P")]
    pub provider: Option<String>,
    /// Accreditation ("" removes it).
    #[arg(long, value_name = "A")]
    pub accreditation: Option<String>,
    /// Category; replaces the whole list (repeatable).
    #[arg(long, value_name = "C", conflicts_with = "clear_categories")]
    pub category: Vec<String>,
    /// Remove all categories.
    #[arg(long)]
    pub clear_categories: bool,
    /// How the course was delivered.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<CourseFormat>,
    /// Count only toward this credential (id or program slug); replaces the pins (repeatable).
    #[arg(long = "for", value_name = "CREDENTIAL", conflicts_with = "clear_for")]
    pub for_credentials: Vec<String>,
    /// Remove the pins: count toward every eligible credential again.
    #[arg(long)]
    pub clear_for: bool,
    /// Certificate file (must exist; stored as its absolute path) or URL ("" removes it).
    #[arg(long, value_name = "PATH", value_parser = parse_evidence)]
    pub evidence: Option<String>,
}

/// `recert status ...`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Compute for this date instead of today.
    #[arg(long, value_name = "DATE", value_parser = parse_date, conflicts_with = "cycle")]
    pub as_of: Option<Date>,
    /// The current cycle, or the last closed one as it was frozen at renewal.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Cycle::Current)]
    pub cycle: Cycle,
}

/// Which cycle of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cycle {
    /// The cycle running now.
    Current,
    /// The last closed cycle.
    Previous,
}

/// `recert transcript ...`
#[derive(Debug, Args)]
pub struct TranscriptArgs {
    /// Credential: an id (cr3) or the slug of a program the holder holds (nha-cpt).
    pub credential: String,
    /// The current cycle, or the last closed one.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Cycle::Current)]
    pub cycle: Cycle,
    /// Write CSV (a header line, then one line per course).
    #[arg(long)]
    pub csv: bool,
}

/// `recert deadlines ...`
#[derive(Debug, Args)]
pub struct DeadlinesArgs {
    /// How far ahead to look: 90d, 12w, 6m (30-day months), 1y (365 days) or a number of days.
    #[arg(long, value_name = "SPAN", default_value = "90d", value_parser = parse_within)]
    pub within: i32,
    /// Every holder, even when --holder or RECERT_HOLDER is set (the default without them).
    #[arg(long)]
    pub all_holders: bool,
    /// Compute for this date instead of today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Stop after this many deadlines.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Print an iCalendar (RFC 5545) file instead, whatever --output says: one all-day event
    /// per expiry, with a reminder at each alert threshold in effect. For example:
    /// recert deadlines --within 2y --ics > recert.ics
    #[arg(long)]
    pub ics: bool,
}

/// `recert alerts ...`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List the holder's alerts (default: every status but cancelled).
    List(AlertsListArgs),
    /// Acknowledge an alert: it is handled, so no channel retries it.
    Ack {
        /// Alert id, e.g. al3.
        id: String,
    },
    /// Put an alert off: it is delivered again on a later date.
    Snooze {
        /// Alert id.
        id: String,
        /// The date to deliver it again (in the holder's time zone).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        until: Date,
    },
    /// Stop alerts about one credential (or, with --unmute, resume them).
    Mute {
        /// A credential id (cr3) or the slug of a program the holder holds (nha-cpt).
        credential: String,
        /// Resume the credential's alerts.
        #[arg(long)]
        unmute: bool,
    },
    /// Print the holder's alerts as they arrive, until interrupted.
    Watch(AlertsWatchArgs),
    /// Send a test alert through each of the holder's channels (or a team's) now and show
    /// the results.
    Test {
        /// A team (id or name): test its channels, which get every member's alerts (a lead's
        /// or an admin's token).
        #[arg(long, value_name = "T")]
        team: Option<String>,
    },
    /// Show or set when alerts fire (days before expiry) for the holder, a credential or a
    /// program; without DAYS it shows the current setting.
    Thresholds(AlertsThresholdsArgs),
}

/// `recert alerts thresholds [DAYS] [--credential C | --program SLUG] [--clear]`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("scope").args(["credential", "program"])))]
pub struct AlertsThresholdsArgs {
    /// Days before expiry, comma-separated, e.g. 120,60,30,7 (each 1 to 365).
    #[arg(value_delimiter = ',', value_name = "DAYS", value_parser = parse_threshold)]
    pub days: Vec<u32>,
    /// A credential (cr3, or a program slug the holder holds) instead of the holder.
    #[arg(long)]
    pub credential: Option<String>,
    /// A program (every holder's credentials of it) instead of the holder.
    #[arg(long)]
    pub program: Option<String>,
    /// Remove the setting, so the next level (credential, holder, program, defaults) applies.
    #[arg(long, conflicts_with = "days")]
    pub clear: bool,
}

/// `recert alerts list ...`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("filter").args(["pending", "failed", "all"])))]
pub struct AlertsListArgs {
    /// Only alerts not delivered yet.
    #[arg(long)]
    pub pending: bool,
    /// Only alerts a channel gave up on.
    #[arg(long)]
    pub failed: bool,
    /// Every alert, cancelled ones included.
    #[arg(long)]
    pub all: bool,
    /// Every holder's alerts, even when --holder or RECERT_HOLDER is set.
    #[arg(long)]
    pub all_holders: bool,
    /// `--limit N`.
    #[command(flatten)]
    pub list: ListArgs,
}

impl AlertsListArgs {
    /// The filter the flags ask for.
    pub fn filter(&self) -> AlertFilter {
        if self.pending {
            AlertFilter::Pending
        } else if self.failed {
            AlertFilter::Failed
        } else if self.all {
            AlertFilter::All
        } else {
            AlertFilter::NotCancelled
        }
    }
}

/// `recert alerts watch ...`
#[derive(Debug, Args)]
pub struct AlertsWatchArgs {
    /// Start after this alert `seq` (0: from the first alert). Pass the last seq a previous
    /// run printed to resume it.
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub after: u64,
    /// Run `sh -c CMD` for each alert and wait for it, with the alert in RECERT_ALERT_*
    /// variables; its output goes to stderr, and a failure is a warning.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Print the alerts already there (after --after) and exit instead of waiting for more.
    #[arg(long)]
    pub once: bool,
}

/// `recert notify ...`
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Add a channel for the holder's alerts.
    #[command(subcommand)]
    Add(NotifyAddCommand),
    /// List the holder's channels, or a team's (--team).
    List {
        /// A team (id or name): list its channels, which get every member's alerts (a lead's
        /// or an admin's token).
        #[arg(long, value_name = "T")]
        team: Option<String>,
    },
    /// Remove a channel.
    Remove {
        /// Channel id, e.g. ch1.
        id: String,
    },
}

/// `recert notify add ...`
#[derive(Debug, Subcommand)]
pub enum NotifyAddCommand {
    /// Deliver alerts to an HTTP(S) webhook.
    Webhook {
        /// The http:// or https:// URL to deliver to (recertd checks it).
        url: String,
        /// Secret to sign deliveries with; stored by recertd and never shown again.
        #[arg(
            long,
            value_name = "S",
            env = "RECERT_WEBHOOK_SECRET",
            hide_env_values = true
        )]
        secret: Option<Secret>,
        /// A team (id or name): the channel gets every member's alerts, each naming the
        /// person (a lead's or an admin's token).
        #[arg(long, value_name = "T")]
        team: Option<String>,
    },
    /// Deliver alerts by e-mail (recertd must be started with --smtp-url to send them).
    Email {
        /// The address, e.g. alice@example.org (recertd checks it).
        address: String,
        /// A team (id or name): the channel gets every member's alerts, each naming the
        /// person (a lead's or an admin's token).
        #[arg(long, value_name = "T")]
        team: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_course_log_with_every_option() {
        let cli = Cli::try_parse_from([
            "recert",
            "--holder",
            "h2",
            "course",
            "log",
            "Needle safety",
            "--credits",
            "2.5",
            "--unit",
            "nha-credit",
            "--date",
            "2025-01-10",
            "--category",
            "safety",
            "--category",
            "lab",
            "--format",
            "home-study",
            "--for",
            "nha-cpt",
            "--for",
            "cr3",
            "-o",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.holder.as_deref(), Some("h2"));
        assert_eq!(cli.output, Format::Json);
        let Command::Course(CourseCommand::Log(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.credits.hundredths(), 250);
        assert_eq!(args.unit, CourseUnit::NhaCredit);
        assert_eq!(args.date, Some(jiff::civil::date(2025, 1, 10)));
        assert_eq!(args.category, ["safety", "lab"]);
        assert_eq!(args.format, Some(CourseFormat::HomeStudy));
        assert_eq!(args.for_credentials, ["nha-cpt", "cr3"]);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["recert", "course", "log", "T", "--credits", "1.234"][..],
            &["recert", "course", "log", "T", "--credits", "0"],
            &[
                "recert",
                "cert",
                "add",
                "nha-cpt",
                "--expires",
                "2025-02-30",
            ],
            &["recert", "deadlines", "--within", "3q"],
            &["recert", "holder", "list", "--limit", "0"],
        ] {
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{argv:?}"
            );
        }
    }

    /// The parsed `recert alerts ...` command.
    fn alerts(args: &[&str]) -> AlertsCommand {
        let argv = ["recert", "alerts"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Alerts(command) => command,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn alert_list_flags_choose_one_filter() {
        let filter = |args: &[&str]| match alerts(args) {
            AlertsCommand::List(list) => list.filter(),
            other => panic!("parsed as {other:?}"),
        };
        assert_eq!(filter(&["list"]), AlertFilter::NotCancelled);
        assert_eq!(filter(&["list", "--pending"]), AlertFilter::Pending);
        assert_eq!(filter(&["list", "--failed"]), AlertFilter::Failed);
        assert_eq!(filter(&["list", "--all"]), AlertFilter::All);
        assert_eq!(AlertFilter::NotCancelled.as_str(), "");
        assert_eq!(AlertFilter::All.as_str(), "all");

        let AlertsCommand::List(list) = alerts(&["list", "--all-holders", "--limit", "5"]) else {
            panic!("not a list");
        };
        assert!(list.all_holders);
        assert_eq!(list.list.limit(), Some(5));

        let err =
            Cli::try_parse_from(["recert", "alerts", "list", "--pending", "--failed"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn alert_verbs_parse_their_values() {
        let AlertsCommand::Snooze { id, until } =
            alerts(&["snooze", "al3", "--until", "2026-01-05"])
        else {
            panic!("not a snooze");
        };
        assert_eq!((id.as_str(), until), ("al3", jiff::civil::date(2026, 1, 5)));

        let AlertsCommand::Mute { credential, unmute } = alerts(&["mute", "nha-cpt", "--unmute"])
        else {
            panic!("not a mute");
        };
        assert_eq!((credential.as_str(), unmute), ("nha-cpt", true));

        let AlertsCommand::Watch(watch) = alerts(&[
            "watch",
            "--after",
            "14",
            "--exec",
            "notify-send hi",
            "--once",
        ]) else {
            panic!("not a watch");
        };
        assert_eq!(watch.after, 14);
        assert_eq!(watch.exec.as_deref(), Some("notify-send hi"));
        assert!(watch.once);
        let AlertsCommand::Watch(watch) = alerts(&["watch"]) else {
            panic!("not a watch");
        };
        assert_eq!((watch.after, watch.exec, watch.once), (0, None, false));
    }

    /// Channel targets are checked by recertd, so every client gets the same rules; see
    /// `bad_input_gets_one_clear_line_and_changes_nothing` in `tests/tests/cli.rs`.
    #[test]
    fn bad_alert_values_are_usage_errors() {
        for argv in [
            &["recert", "alerts", "snooze", "al1", "--until", "tomorrow"][..],
            &["recert", "alerts", "snooze", "al1", "--until", "2026-02-30"],
            &["recert", "alerts", "watch", "--after", "-1"],
        ] {
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
        let err = Cli::try_parse_from(["recert", "alerts", "snooze", "al1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn webhook_secrets_do_not_show_in_debug_output() {
        let cli = Cli::try_parse_from([
            "recert",
            "notify",
            "add",
            "webhook",
            "https://example.org/hook",
            "--secret",
            "hunter2",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let Command::Notify(NotifyCommand::Add(NotifyAddCommand::Webhook { url, secret, .. })) =
            cli.command
        else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(url, "https://example.org/hook");
        assert_eq!(secret.map(Secret::reveal).as_deref(), Some("hunter2"));
    }

    #[test]
    fn deadlines_default_to_ninety_days() {
        let cli = Cli::try_parse_from(["recert", "deadlines"]).unwrap();
        let Command::Deadlines(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.within, 90);
        assert!(!args.all_holders);
    }
}
