//! The client's errors, each with the exit code a script can rely on.

/// Why a command failed. `Display` is the one line printed after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon could not be reached at all (not running, wrong address, network down).
    #[error("cannot reach recertd at {server} (is it running? start it with: recertd)")]
    Unreachable {
        /// The `--server` URL tried.
        server: String,
    },
    /// The TLS handshake failed: most often a certificate no trusted CA signed.
    #[error(
        "cannot verify recertd at {server} ({detail}); give the CA certificate that signed its certificate with --ca FILE or RECERT_CA"
    )]
    Tls {
        /// The `--server` URL tried.
        server: String,
        /// What the TLS layer said.
        detail: String,
    },
    /// Something answered at the address, but not as a gRPC server (e.g. a web server).
    #[error("{server} did not answer as recertd ({detail}); check --server")]
    NotRecertd {
        /// The `--server` URL tried.
        server: String,
        /// What came back instead, e.g. "HTTP status 404".
        detail: String,
    },
    /// The server refused or failed the request; the message is the server's own.
    #[error("{message}")]
    Server {
        /// The gRPC status code, kept so callers can react to NOT_FOUND and the like.
        code: tonic::Code,
        /// Human message from the server (naming the offending field when there is one).
        message: String,
        /// The fields an INVALID_ARGUMENT reply names in its `google.rpc.BadRequest`.
        violations: Vec<Violation>,
    },
    /// No `--holder` was given and the server has no default holder yet.
    #[error("no holder exists yet; add one first with: recert holder add NAME")]
    NoHolder,
    /// A name given on the command line matched nothing, or more than one thing.
    #[error("{0}")]
    Lookup(String),
    /// A command line that parsed but cannot be carried out as written.
    #[error("{0}")]
    Usage(String),
    /// Stdout could not be written (other than a closed pipe, which ends a command quietly).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

/// One field the server refused, from the `google.rpc.BadRequest` details of its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The request field, as named on the wire (`course.completed_on`).
    pub field: String,
    /// Why, in the server's words (which name the field the same way).
    pub description: String,
}

/// What the user typed for each request field the server may name, so an error says
/// `--date`, not `course.completed_on`. Names with a `.` or `_` are replaced wherever they
/// stand as a word; plain words only at the start of a message (`until (...) must be ...`).
const FLAGS: &[(&str, &str)] = &[
    ("holder_id", "--holder"),
    ("course.holder_id", "--holder"),
    ("credential.holder_id", "--holder"),
    ("channel.holder_id", "--holder"),
    ("scope.holder_id", "--holder"),
    ("scope.credential_id", "--credential"),
    ("scope.program", "--program"),
    ("credential_id", "CREDENTIAL"),
    ("holder.name", "--name"),
    ("holder.email", "--email"),
    ("holder.time_zone", "--tz"),
    ("holder.hired_on", "--hired"),
    ("hired_on", "--hired"),
    ("program.slug", "SLUG"),
    ("program.body", "--body"),
    ("program.name", "--name"),
    ("program.unit", "--unit-name"),
    ("program.notes", "--notes"),
    ("program.cycle_months", "--cycle-months"),
    ("program.ce_window_months", "--window-months"),
    ("program.unit_hours_hundredths", "--unit-hours"),
    ("program.required_hundredths", "--required"),
    ("program.grace_days", "--grace-days"),
    ("program.category_minimums", "--category-min"),
    ("program.caps", "--cap-category/--cap-format"),
    ("program.sources", "--source"),
    ("credential.program", "PROGRAM"),
    ("credential.number", "--number"),
    ("credential.issued_on", "--issued"),
    ("credential.expires_on", "--expires"),
    ("issued_on", "--issued"),
    ("expires_on", "--expires"),
    ("renewed_on", "--on"),
    ("course.title", "--title"),
    ("course.provider", "--provider"),
    ("course.accreditation", "--accreditation"),
    ("course.completed_on", "--date"),
    ("course.credits_hundredths", "--credits"),
    ("course.unit", "--unit"),
    ("course.categories", "--category"),
    ("course.format", "--format"),
    ("course.credential_ids", "--for"),
    ("course.evidence", "--evidence"),
    ("channel.target", "the address"),
    ("channel.secret", "--secret"),
    ("until", "--until"),
    ("only", "--only"),
    ("slug", "SLUG"),
    ("id", "ID"),
];

impl Error {
    /// The same error with the request's field names in the server's words replaced by what
    /// the user typed (see [`FLAGS`]). `arguments` names the fields this command takes as
    /// positional arguments (`("course.title", "the title")`) and wins over the flags.
    pub fn in_terms_of_flags(self, arguments: &[(&str, &str)]) -> Self {
        match self {
            Self::Server {
                code,
                message: _,
                violations,
            } if !violations.is_empty() => {
                // Renamed in place, so renaming again changes nothing.
                let violations: Vec<Violation> = violations
                    .into_iter()
                    .map(|v| Violation {
                        description: rename_fields(&v.description, arguments),
                        field: v.field,
                    })
                    .collect();
                let message = violations
                    .iter()
                    .map(|v| v.description.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                Self::Server {
                    code,
                    message,
                    violations,
                }
            }
            other => other,
        }
    }

    /// Exit code: 1 when the server or the data said no, 2 for usage errors (as clap), 3 when
    /// the server cannot be reached.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Server { .. } | Self::NoHolder | Self::Lookup(_) | Self::Output(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable { .. } | Self::NotRecertd { .. } | Self::Tls { .. } => 3,
        }
    }

    /// Whether trying again later may succeed: the daemon is down or restarting, or the
    /// connection broke (tonic reports a broken HTTP/2 stream as UNKNOWN, INTERNAL or
    /// CANCELLED). A refusal (not found, invalid, unimplemented) will not change by waiting.
    pub fn is_transient(&self) -> bool {
        use tonic::Code;
        match self {
            Self::Unreachable { .. } => true,
            Self::Server { code, .. } => matches!(
                code,
                Code::Unavailable
                    | Code::Unknown
                    | Code::Internal
                    | Code::Cancelled
                    | Code::DeadlineExceeded
                    | Code::ResourceExhausted
                    | Code::Aborted
            ),
            Self::NotRecertd { .. }
            | Self::Tls { .. }
            | Self::NoHolder
            | Self::Lookup(_)
            | Self::Usage(_)
            | Self::Output(_) => false,
        }
    }
}

/// `text` with each known field name replaced, longest names first so that
/// `course.holder_id` is not taken for `holder_id`.
fn rename_fields(text: &str, arguments: &[(&str, &str)]) -> String {
    let mut names: Vec<&(&str, &str)> = arguments.iter().chain(FLAGS).collect();
    // Stable: for one field, the command's own argument comes before the flag.
    names.sort_by_key(|(field, _)| std::cmp::Reverse(field.len()));
    let mut text = text.to_owned();
    for (field, typed) in names {
        text = replace_name(&text, field, typed);
    }
    text
}

/// Replaces `field` where it stands as a whole name (with an index such as `[2]` after it
/// taken along); a plain word only at the very start.
fn replace_name(text: &str, field: &str, typed: &str) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let anywhere = field.contains(['.', '_']);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_start = true;
    while let Some(i) = rest.find(field) {
        let before_ok = rest[..i].chars().next_back().is_none_or(|c| !is_name(c))
            && (anywhere || (at_start && i == 0));
        let after = &rest[i + field.len()..];
        // A trailing '.' ends a sentence; it does not continue the name.
        let after_ok = match after.chars().next() {
            None => true,
            Some('.') => after[1..].chars().next().is_none_or(|c| !is_name(c)),
            Some(c) => !is_name(c),
        };
        out.push_str(&rest[..i]);
        if before_ok && after_ok {
            out.push_str(typed);
            rest = skip_index(after);
        } else {
            out.push_str(field);
            rest = after;
        }
        at_start = false;
    }
    out.push_str(rest);
    out
}

/// `text` after a leading `[digits]`, if it has one.
fn skip_index(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|inner| {
            let digits = inner.len() - inner.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            (digits > 0)
                .then(|| inner[digits..].strip_prefix(']'))
                .flatten()
        })
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_trouble_is_transient() {
        let server = |code| Error::Server {
            code,
            message: String::new(),
            violations: Vec::new(),
        };
        let unreachable = Error::Unreachable {
            server: "http://127.0.0.1:1".into(),
        };
        assert!(unreachable.is_transient());
        assert!(server(tonic::Code::Unavailable).is_transient());
        assert!(server(tonic::Code::Unknown).is_transient());
        assert!(!server(tonic::Code::NotFound).is_transient());
        assert!(!server(tonic::Code::InvalidArgument).is_transient());
        assert!(!server(tonic::Code::Unimplemented).is_transient());
        assert!(!Error::NoHolder.is_transient());
    }

    fn invalid(violations: &[(&str, &str)]) -> Error {
        Error::Server {
            code: tonic::Code::InvalidArgument,
            message: "the server's joined message".into(),
            violations: violations
                .iter()
                .map(|(field, description)| Violation {
                    field: (*field).into(),
                    description: (*description).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn field_names_become_the_flags_the_user_typed() {
        let renamed = |violations: &[(&str, &str)], arguments: &[(&str, &str)]| {
            invalid(violations).in_terms_of_flags(arguments).to_string()
        };
        assert_eq!(
            renamed(
                &[(
                    "course.completed_on",
                    "course.completed_on (2027-01-15) is in the future (today is 2026-12-01)"
                )],
                &[]
            ),
            "--date (2027-01-15) is in the future (today is 2026-12-01)"
        );
        assert_eq!(
            renamed(
                &[(
                    "credential.expires_on",
                    "credential.expires_on (2029-05-01) must be after issued_on (2030-01-01)"
                )],
                &[]
            ),
            "--expires (2029-05-01) must be after --issued (2030-01-01)"
        );
        assert_eq!(
            renamed(
                &[("course.title", "course.title must not be empty")],
                &[("course.title", "the title")]
            ),
            "the title must not be empty"
        );
        assert_eq!(
            renamed(
                &[(
                    "holder_id",
                    "holder_id \"aisha\" is not a holder id (like h1)"
                )],
                &[]
            ),
            "--holder \"aisha\" is not a holder id (like h1)"
        );
        assert_eq!(
            renamed(
                &[
                    (
                        "until",
                        "until (2026-11-15) must be after today (2026-12-01)"
                    ),
                    (
                        "program.sources",
                        "program.sources[1] must be an http(s) URL"
                    ),
                ],
                &[]
            ),
            "--until (2026-11-15) must be after today (2026-12-01); \
             --source must be an http(s) URL"
        );
        // Plain words are renamed only where a message starts with them.
        assert_eq!(
            renamed(&[("until", "snooze until a later date")], &[]),
            "snooze until a later date"
        );
        assert_eq!(
            renamed(&[("x", "the id of the holder_idea")], &[]),
            "the id of the holder_idea"
        );
    }

    #[test]
    fn renaming_twice_changes_nothing() {
        let once = invalid(&[("id", "id \"aisha\" is not a holder id (like h1)")])
            .in_terms_of_flags(&[("id", "--holder")]);
        assert_eq!(
            once.to_string(),
            "--holder \"aisha\" is not a holder id (like h1)"
        );
        let twice = once.in_terms_of_flags(&[]);
        assert_eq!(
            twice.to_string(),
            "--holder \"aisha\" is not a holder id (like h1)"
        );
    }

    #[test]
    fn errors_without_violations_keep_their_message() {
        let err = Error::Server {
            code: tonic::Code::NotFound,
            message: "course co9 not found".into(),
            violations: Vec::new(),
        };
        assert_eq!(
            err.in_terms_of_flags(&[]).to_string(),
            "course co9 not found"
        );
    }
}
