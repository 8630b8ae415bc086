//! `recert cert add|list|show|renew|edit|remove`: the holder's credentials.

use super::Context;
use crate::cli::CertCommand;
use crate::error::Error;
use crate::model::{Credential, CredentialChanges, Deleted, NewCredential};
use crate::render::{Table, details, or_dash};

/// Runs one credential command.
pub async fn run(context: &Context, command: CertCommand) -> Result<String, Error> {
    let (api, out) = (&context.api, context.out);
    match command {
        CertCommand::Add {
            program,
            expires,
            number,
            issued,
        } => {
            let holder_id = context.holder_id().await?;
            let credential = api
                .create_credential(NewCredential {
                    holder_id,
                    program,
                    number,
                    issued_on: issued,
                    expires_on: expires,
                })
                .await?;
            Ok(out.record(&credential, || {
                format!(
                    "Added credential {}: {}, expires {}",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::List(list) => {
            let holder_id = context.holder_id().await?;
            let credentials = api.credentials(&holder_id, list.limit()).await?;
            if out.is_json() {
                return Ok(out.json(&credentials));
            }
            if credentials.is_empty() {
                return Ok(
                    "No credentials yet. Add one with: recert cert add PROGRAM --expires DATE\n"
                        .to_owned(),
                );
            }
            Ok(table(&credentials).render(out.color))
        }
        CertCommand::Show { id } => {
            let credential = api.credential(&id).await?;
            Ok(out.record(&credential, || show(&credential, out.color)))
        }
        CertCommand::Renew { id, expires, on } => {
            let credential = api.renew_credential(&id, expires, on).await?;
            Ok(out.record(&credential, || {
                format!(
                    "Renewed credential {} ({}): now expires {}",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::Edit {
            id,
            number,
            issued,
            expires,
        } => {
            let changes = CredentialChanges {
                number,
                issued_on: issued,
                expires_on: expires,
            };
            let credential = api.update_credential(&id, changes).await?;
            Ok(out.record(&credential, || {
                format!(
                    "Updated credential {}: {}, expires {}",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::Remove { id } => {
            api.delete_credential(&id).await?;
            let deleted = Deleted { deleted: id };
            Ok(out.record(&deleted, || {
                format!("Removed credential {}", deleted.deleted)
            }))
        }
    }
}

/// The `cert list` table.
fn table(credentials: &[Credential]) -> Table {
    let mut table =
        Table::new(&["ID", "PROGRAM", "NUMBER", "ISSUED", "EXPIRES", "RENEWALS"]).right_align(&[5]);
    for c in credentials {
        table.row(vec![
            c.id.clone(),
            c.program.clone(),
            or_dash(c.number.as_deref()),
            or_dash(c.issued_on.as_deref()),
            c.expires_on.clone(),
            c.history.len().to_string(),
        ]);
    }
    table
}

/// The `cert show` listing, with past cycles as a table.
fn show(c: &Credential, color: bool) -> String {
    let mut text = details(&[
        ("Id", c.id.clone()),
        ("Holder", c.holder_id.clone()),
        ("Program", c.program.clone()),
        ("Number", c.number.clone().unwrap_or_default()),
        ("Issued", c.issued_on.clone().unwrap_or_default()),
        ("Expires", c.expires_on.clone()),
    ]);
    if !c.history.is_empty() {
        text.push_str("\nPast cycles:\n");
        let mut history = Table::new(&["ISSUED", "EXPIRED", "RENEWED"]);
        for cycle in &c.history {
            history.row(vec![
                or_dash(cycle.issued_on.as_deref()),
                cycle.expires_on.clone(),
                or_dash(cycle.renewed_on.as_deref()),
            ]);
        }
        text.push_str(&history.render(color));
    }
    text
}

/// Finds one of the holder's credentials by id (cr3), or by the slug of the one credential of
/// that program the holder holds (nha-cpt). `what` names the argument in errors ("--for").
pub(super) fn resolve_credential<'a>(
    credentials: &'a [Credential],
    holder_id: &str,
    what: &str,
    value: &str,
) -> Result<&'a Credential, Error> {
    let value = value.trim();
    if let Some(credential) = credentials.iter().find(|c| c.id == value) {
        return Ok(credential);
    }
    let matches: Vec<&Credential> = credentials
        .iter()
        .filter(|c| c.program.eq_ignore_ascii_case(value))
        .collect();
    match matches.as_slice() {
        [credential] => Ok(credential),
        [] => Err(Error::Lookup(format!(
            "{what} {value}: holder {holder_id} has no such credential \
             (give a credential id like cr3 or the slug of a program they hold)"
        ))),
        several => Err(Error::Lookup(format!(
            "{what} {value}: holder {holder_id} holds {} credentials of that program ({}); \
             give the credential id instead",
            several.len(),
            several
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(id: &str, program: &str) -> Credential {
        Credential {
            id: id.into(),
            holder_id: "h1".into(),
            program: program.into(),
            number: None,
            issued_on: None,
            expires_on: "2026-01-01".into(),
            history: Vec::new(),
        }
    }

    #[test]
    fn credentials_resolve_by_id_or_unique_slug() {
        let held = [
            credential("cr1", "nha-cpt"),
            credential("cr2", "ascp-pbt"),
            credential("cr5", "ascp-pbt"),
        ];
        let id = |value| {
            resolve_credential(&held, "h1", "--for", value)
                .map(|c| c.id.clone())
                .unwrap()
        };
        assert_eq!(id("cr2"), "cr2");
        assert_eq!(id("nha-cpt"), "cr1");
        assert_eq!(id("NHA-CPT"), "cr1");

        let ambiguous = resolve_credential(&held, "h1", "--for", "ascp-pbt")
            .unwrap_err()
            .to_string();
        assert!(
            ambiguous.starts_with("--for ascp-pbt:")
                && ambiguous.contains("2 credentials")
                && ambiguous.contains("cr2, cr5"),
            "{ambiguous}"
        );

        let missing = resolve_credential(&held, "h1", "alerts mute", "amt-rpt").unwrap_err();
        assert_eq!(missing.exit_code(), 1);
        assert!(
            missing
                .to_string()
                .starts_with("alerts mute amt-rpt: holder h1 has no such credential"),
            "{missing}"
        );
    }
}
