//! How the CLI reaches recertd: plaintext for `http://` (loopback), TLS for `https://`,
//! verified against `--ca` (or the web PKI roots when none is given).

use std::path::Path;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use crate::error::Error;

/// The endpoint for `server`, with TLS when the URL says `https://`.
pub fn endpoint(server: &str, ca: Option<&Path>) -> Result<Endpoint, Error> {
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|_| Error::Usage(format!("invalid --server URL '{server}'")))?;
    let https = server.starts_with("https://");
    if !https {
        if ca.is_some() {
            return Err(Error::Usage(format!(
                "--ca applies to https:// servers, and --server is '{server}'"
            )));
        }
        return Ok(endpoint);
    }
    let tls = match ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Usage(format!("cannot read --ca file {}: {e}", path.display()))
            })?;
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
        }
        None => ClientTlsConfig::new().with_webpki_roots(),
    };
    endpoint
        .tls_config(tls)
        .map_err(|e| Error::Usage(format!("cannot set up TLS for '{server}': {e}")))
}

/// Why connecting failed, as the user can act on it: a certificate the CA does not vouch
/// for is a TLS problem to fix with `--ca`, anything else means the daemon is unreachable.
pub fn connect_error(server: &str, error: &tonic::transport::Error) -> Error {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let tls = chain.iter().find(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("certificate") || c.contains("tls") || c.contains("handshake")
    });
    match tls {
        Some(detail) if server.starts_with("https://") => Error::Tls {
            server: server.to_owned(),
            detail: detail.clone(),
        },
        _ => Error::Unreachable {
            server: server.to_owned(),
        },
    }
}
