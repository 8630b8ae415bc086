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
}

impl Error {
    /// Exit code: 1 when the server or the data said no, 2 for usage errors (as clap), 3 when
    /// the server cannot be reached.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Server { .. } | Self::NoHolder | Self::Lookup(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable { .. } | Self::NotRecertd { .. } => 3,
        }
    }
}
