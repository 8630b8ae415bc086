//! The daemon's dependency direction, checked: api -> service -> {domain, store port};
//! alerts -> {service, domain, store port}; backup -> {service, domain, store port, the
//! schedule}; store engines -> domain; only `lib.rs` (and the
//! binary's maintenance commands) name an engine; the domain imports no I/O crate.
//!
//! Reads every source file under `server/src` and the `crate::` paths and crates it names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The production code of a file: without comments (prose naming a module does not count)
/// and without its unit tests (a test may open a real engine), which end a file here.
fn code(text: &str) -> String {
    let production = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or(text);
    production
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules of the crate a file names through `crate::X`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `recert_crate::`, not ours
        }
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name == "store" && rest["store".len()..].starts_with("::sled") {
            out.insert("store::sled".into());
        }
        if name == "store" && rest["store".len()..].starts_with("::postgres") {
            out.insert("store::postgres".into());
        }
        // The cron schedule is the one part of `alerts` another layer may share.
        if name == "alerts" && rest["alerts".len()..].starts_with("::schedule") {
            out.insert("alerts::schedule".into());
            continue;
        }
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// The layer a file belongs to, from its path under `server/src`.
fn layer(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [dir, sub, ..] if dir == "store" && sub != "mod.rs" => format!("store/{sub}"),
        [dir, ..] if parts.len() > 1 => dir.clone(),
        [file] => file.trim_end_matches(".rs").to_string(),
        _ => String::new(),
    }
}

#[test]
fn every_layer_depends_only_on_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in sources(&root) {
        let relative = path.strip_prefix(&root).unwrap().to_path_buf();
        let text = code(&std::fs::read_to_string(&path).unwrap());
        let layer = layer(&relative);
        let uses = crate_modules(&text);
        // Only the composition root and the engine itself may name the sled engine.
        let names_engine = uses.contains("store::sled") || text.contains("SledStore");
        if names_engine && !matches!(layer.as_str(), "lib" | "store" | "store/sled") {
            problems.push(format!(
                "{}: {layer} names the sled engine",
                relative.display()
            ));
        }
        let names_pg = uses.contains("store::postgres") || text.contains("PgStore");
        if names_pg && !matches!(layer.as_str(), "lib" | "store" | "store/postgres") {
            problems.push(format!(
                "{}: {layer} names the PostgreSQL engine",
                relative.display()
            ));
        }
        // (crate modules the layer may name, crates it must not use)
        let (allowed, forbidden_crates): (&[&str], &[&str]) = match layer.as_str() {
            "domain" => (
                &["domain"],
                &["tonic", "prost", "sled", "tokio", "recert_proto"],
            ),
            "store" => (&["domain", "store"], &["tonic", "recert_proto", "sled"]),
            "store/sled" => (
                &["domain", "store", "catalog"],
                &[
                    "tonic",
                    "recert_proto",
                    "tokio_postgres",
                    "deadpool_postgres",
                ],
            ),
            "store/postgres" => (
                &["domain", "store", "catalog"],
                &["tonic", "recert_proto", "sled"],
            ),
            "service" => (
                &["domain", "store", "service", "catalog", "clock"],
                &["tonic", "prost", "recert_proto", "sled"],
            ),
            "alerts" => (
                &["domain", "store", "service", "alerts", "catalog", "clock"],
                &["tonic", "recert_proto", "sled"],
            ),
            "backup" => (
                &[
                    "domain",
                    "store",
                    "service",
                    "backup",
                    "catalog",
                    "clock",
                    "alerts::schedule",
                ],
                &["tonic", "prost", "recert_proto", "sled"],
            ),
            _ => continue,
        };
        checked += 1;
        for module in &uses {
            let top = module.split("::").next().unwrap_or_default();
            let allowed = allowed.contains(&top) || allowed.contains(&module.as_str());
            if !allowed
                || (module == "store::sled" && layer != "store/sled")
                || (module == "store::postgres" && layer != "store/postgres")
            {
                problems.push(format!(
                    "{}: {layer} names crate::{module}",
                    relative.display()
                ));
            }
        }
        for krate in forbidden_crates {
            let named = [" ", "(", "<", "&", "\n"]
                .iter()
                .any(|before| text.contains(&format!("{before}{krate}::")))
                || text.starts_with(&format!("{krate}::"));
            if named {
                problems.push(format!(
                    "{}: {layer} uses the crate {krate}",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} files checked: is the layout as expected?"
    );
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_a_forbidden_edge() {
    // The same rules, on a file that breaks them, must complain.
    let text = code("use crate::api::Api;\nuse tonic::Status;\n// crate::store::sled in prose\n");
    let uses = crate_modules(&text);
    assert!(uses.contains("api"));
    assert!(!uses.contains("store::sled"), "comments do not count");
    assert!(text.contains("use tonic::"));
    assert_eq!(layer(Path::new("store/sled/mod.rs")), "store/sled");
    assert_eq!(layer(Path::new("store/mod.rs")), "store");
    assert_eq!(layer(Path::new("service/standing.rs")), "service");
    assert_eq!(layer(Path::new("lib.rs")), "lib");
    assert_eq!(layer(Path::new("backup/read.rs")), "backup");
    let shared = crate_modules("use crate::alerts::schedule::TickSchedule;");
    assert!(shared.contains("alerts::schedule") && !shared.contains("alerts"));
    assert!(crate_modules("use crate::alerts::AlertEngine;").contains("alerts"));
}
