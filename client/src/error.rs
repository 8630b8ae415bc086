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
    /// Stdout could not be written (other than a closed pipe, which ends a command quietly).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// Exit code: 1 when the server or the data said no, 2 for usage errors (as clap), 3 when
    /// the server cannot be reached.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Server { .. } | Self::NoHolder | Self::Lookup(_) | Self::Output(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable { .. } | Self::NotRecertd { .. } => 3,
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
            | Self::NoHolder
            | Self::Lookup(_)
            | Self::Usage(_)
            | Self::Output(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_trouble_is_transient() {
        let server = |code| Error::Server {
            code,
            message: String::new(),
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
}
