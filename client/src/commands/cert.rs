//! `recert cert add|list|show|renew|verify|edit|remove`: the holder's credentials.

use super::program::explain_unknown_program;
use super::{Context, whose};
use crate::cli::CertCommand;
use crate::error::Error;
use crate::model::{Course, Credential, CredentialChanges, Deleted, NewCredential};
use crate::render::{Table, amount, details, or_dash};
use crate::spelling::{closest, normalize_slug};

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
            let created = api
                .create_credential(NewCredential {
                    holder_id: context.holder_id().to_owned(),
                    program: normalize_slug(&program),
                    number,
                    issued_on: issued,
                    expires_on: expires,
                })
                .await;
            let credential = match created {
                Ok(credential) => credential,
                Err(err) => return Err(explain_unknown_program(api, &program, err).await),
            };
            Ok(out.record(&credential, || {
                format!(
                    "Added credential {}: {}, expires {}",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::List(list) => {
            let credentials = api.credentials(context.holder_id(), list.limit());
            if out.is_json() {
                return Ok(out.json(&credentials.await?));
            }
            let (holder, credentials) = tokio::try_join!(context.holder(), credentials)?;
            if credentials.is_empty() {
                return Ok(
                    "No credentials yet. Add one with: recert cert add PROGRAM --expires DATE\n"
                        .to_owned(),
                );
            }
            Ok(whose(&holder, "Credentials") + &table(&credentials).render(out.color))
        }
        CertCommand::Show { id } => {
            let credential = api.credential(&id).await?;
            Ok(out.record(&credential, || show(&credential, out.color)))
        }
        CertCommand::Renew { id, undo: true, .. } => {
            let credential = api.undo_renewal(&id).await?;
            Ok(out.record(&credential, || {
                format!(
                    "Undid the last renewal of {} ({}): expires {} again",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::Renew {
            id,
            expires,
            on,
            force,
            undo: false,
        } => {
            let credential = api
                .renew_credential(&id, expires, on, force)
                .await
                .map_err(|e| with_flag(e, "--force"))?;
            Ok(out.record(&credential, || {
                format!(
                    "Renewed credential {} ({}): now expires {}",
                    credential.id, credential.program, credential.expires_on
                )
            }))
        }
        CertCommand::Verify {
            id,
            result,
            source,
            by,
            on,
        } => {
            let credential = api
                .verify_credential(&id, &result, source, by, on)
                .await
                .map_err(|e| {
                    e.in_terms_of_flags(&[
                        ("checked_on", "--on"),
                        ("checked_by", "--by"),
                        ("source", "--source"),
                        ("result", "--result"),
                    ])
                })?;
            Ok(out.record(&credential, || {
                let seen = credential.last_verification.as_ref().map_or_else(
                    || result.clone(),
                    |v| format!("{} on {} by {}", v.result, v.on, v.by),
                );
                format!(
                    "Recorded verification of {} ({}): {seen}; {}",
                    credential.id,
                    credential.program,
                    if credential.verified {
                        "verified"
                    } else {
                        "unverified"
                    }
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
        CertCommand::Remove { id, force } => {
            // Asked first to say which courses the removal unpins.
            let credential = api.credential(&id).await?;
            let courses = api.courses(&credential.holder_id, None).await?;
            api.delete_credential(&credential.id, force)
                .await
                .map_err(|e| with_flag(e, "--force"))?;
            let deleted = Deleted {
                deleted: credential.id.clone(),
            };
            Ok(out.record(&deleted, || removed(&credential, &courses)))
        }
    }
}

/// The server's "with force" in the words of the command line ("with --force").
fn with_flag(error: Error, flag: &str) -> Error {
    match error {
        Error::Server {
            code,
            message,
            violations,
        } => Error::Server {
            code,
            message: message.replace("with force", &format!("with {flag}")),
            violations,
        },
        other => other,
    }
}

/// "Removed credential cr12 (nha-cpt)", and which courses pinned only to it now count toward
/// every eligible credential.
fn removed(credential: &Credential, courses: &[Course]) -> String {
    let mut text = format!(
        "Removed credential {} ({})",
        credential.id, credential.program
    );
    let unpinned: Vec<&str> = courses
        .iter()
        .filter(|c| c.credential_ids == [credential.id.as_str()])
        .map(|c| c.id.as_str())
        .collect();
    if !unpinned.is_empty() {
        let (them, were) = if unpinned.len() == 1 {
            ("course", "was")
        } else {
            ("courses", "were")
        };
        text.push_str(&format!(
            "\nThe {them} {} {were} pinned to it and now count{} toward every eligible \
             credential (pin again with: recert course edit ID --for CREDENTIAL)",
            unpinned.join(", "),
            if unpinned.len() == 1 { "s" } else { "" }
        ));
    }
    text
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
        ("Verified", verification_line(c)),
    ]);
    if !c.past_cycles.is_empty() {
        text.push_str("\nPast cycles:\n");
        let mut history = Table::new(&[
            "ISSUED", "EXPIRED", "RENEWED", "REQUIRED", "EARNED", "STATUS", "COURSES",
        ])
        .right_align(&[3, 4]);
        for cycle in &c.past_cycles {
            let figure = |v: Option<crate::credits::Credits>| match (v, &cycle.unit) {
                (Some(v), Some(unit)) => amount(v, unit),
                _ => "-".to_owned(),
            };
            history.row(vec![
                or_dash(cycle.issued_on.as_deref()),
                cycle.expires_on.clone(),
                or_dash(cycle.renewed_on.as_deref()),
                figure(cycle.required),
                figure(cycle.earned),
                cycle
                    .status
                    .map_or_else(|| "-".to_owned(), |s| s.label().to_owned()),
                if cycle.status.is_none() {
                    "(not kept)".to_owned()
                } else if cycle.counted_course_ids.is_empty() {
                    "-".to_owned()
                } else {
                    cycle.counted_course_ids.join(", ")
                },
            ]);
        }
        text.push_str(&history.render(color));
    }
    text
}

/// "yes: active on 2026-11-02 by Dana Lee (https://...)", or why not.
fn verification_line(c: &Credential) -> String {
    let Some(v) = &c.last_verification else {
        return "no (never checked with the issuing body)".to_owned();
    };
    let source = v
        .source
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let seen = format!("{} on {} by {}{source}", v.result, v.on, v.by);
    if c.verified {
        format!("yes: {seen}")
    } else if v.cycle_expires_on != c.expires_on {
        format!(
            "no: renewed since the last check ({seen}, for the cycle ending {})",
            v.cycle_expires_on
        )
    } else {
        format!("no: last check saw {seen}")
    }
}

/// Finds one of the holder's credentials by id (cr3), or by the slug of the one credential of
/// that program the holder holds (nha-cpt, NHA_CPT). `what` names the argument in errors
/// ("--for"); `whose` names the holder when it has no credentials to take the id from.
pub(super) fn resolve_credential<'a>(
    credentials: &'a [Credential],
    whose: &str,
    what: &str,
    value: &str,
) -> Result<&'a Credential, Error> {
    let value = value.trim();
    if let Some(credential) = credentials
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(value))
    {
        return Ok(credential);
    }
    let slug = normalize_slug(value);
    let matches: Vec<&Credential> = credentials.iter().filter(|c| c.program == slug).collect();
    let whose = credentials
        .first()
        .map_or_else(|| whose.to_owned(), |c| format!("holder {}", c.holder_id));
    match matches.as_slice() {
        [credential] => Ok(credential),
        [] => {
            let near = closest(value, credentials.iter().map(|c| c.program.as_str()))
                .and_then(|slug| credentials.iter().find(|c| c.program == slug))
                .map(|c| format!("; did you mean {} ({})?", c.program, c.id))
                .unwrap_or_default();
            Err(Error::Lookup(format!(
                "{what} {value}: {whose} has no such credential{near} \
                 (give a credential id like cr3 or the slug of a program they hold)"
            )))
        }
        several => Err(Error::Lookup(format!(
            "{what} {value}: {whose} holds {} credentials of that program ({}); \
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
            past_cycles: Vec::new(),
            last_verification: None,
            verified: false,
            unverified: true,
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
            resolve_credential(&held, "holder h1", "--for", value)
                .map(|c| c.id.clone())
                .unwrap()
        };
        assert_eq!(id("cr2"), "cr2");
        assert_eq!(id("nha-cpt"), "cr1");
        assert_eq!(id("NHA-CPT"), "cr1");

        let ambiguous = resolve_credential(&held, "holder h1", "--for", "ascp-pbt")
            .unwrap_err()
            .to_string();
        assert!(
            ambiguous.starts_with("--for ascp-pbt:")
                && ambiguous.contains("2 credentials")
                && ambiguous.contains("cr2, cr5"),
            "{ambiguous}"
        );

        assert_eq!(id("nha_cpt"), "cr1");
        assert_eq!(id("CR2"), "cr2");

        let missing =
            resolve_credential(&held, "the default holder", "alerts mute", "amt-rpt").unwrap_err();
        assert_eq!(missing.exit_code(), 1);
        assert!(
            missing
                .to_string()
                .starts_with("alerts mute amt-rpt: holder h1 has no such credential ("),
            "{missing}"
        );
        let near = resolve_credential(&held, "holder h1", "--for", "nha-cp")
            .unwrap_err()
            .to_string();
        assert!(near.contains("did you mean nha-cpt (cr1)?"), "{near}");
        let none = resolve_credential(&[], "the default holder", "--for", "nha-cpt")
            .unwrap_err()
            .to_string();
        assert!(
            none.starts_with("--for nha-cpt: the default holder has no such credential"),
            "{none}"
        );
    }
}
