//! The built-in certification programs: `catalog/programs.toml`, compiled into the daemon.
//!
//! The data file, not code, is where a renewal rule changes: each program carries its
//! sources, the rules it is uncertain of (per field) and notes saying why. Users can still
//! define their own programs; these are only the ones that ship.

use crate::domain::Program;
use serde::Deserialize;
use std::sync::LazyLock;

/// The catalog as shipped.
const PROGRAMS_TOML: &str = include_str!("../catalog/programs.toml");

/// The file's shape: an array of `[[program]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    program: Vec<Program>,
}

/// Parsed once, on first use. The unit tests below parse and validate the same text, so a
/// broken file fails the build's tests rather than the daemon at run time.
static PROGRAMS: LazyLock<Vec<Program>> = LazyLock::new(|| {
    toml::from_str::<CatalogFile>(PROGRAMS_TOML)
        .expect("catalog/programs.toml is valid (checked by the catalog tests)")
        .program
});

/// Every built-in program, in the file's order.
pub fn builtin() -> &'static [Program] {
    &PROGRAMS
}

/// The built-in program with this slug, if any.
pub fn find(slug: &str) -> Option<&'static Program> {
    builtin().iter().find(|p| p.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CapLimit, CapScope, Confidence, Credits, Format};
    use std::collections::HashSet;

    fn program(slug: &str) -> &'static Program {
        find(slug).unwrap_or_else(|| panic!("{slug} is in the catalog"))
    }

    #[test]
    fn file_parses() {
        let file: CatalogFile = toml::from_str(PROGRAMS_TOML).expect("catalog parses");
        assert_eq!(file.program.len(), builtin().len());
        assert!(!builtin().is_empty());
    }

    /// `Program` ignores unknown keys, so a misspelt key (`grace_day = 30`) would silently
    /// fall back to its default; every key in the file must be a field the domain reads.
    #[test]
    fn file_uses_only_known_keys() {
        const PROGRAM_KEYS: [&str; 16] = [
            "slug",
            "body",
            "name",
            "cycle_months",
            "ce_window_months",
            "unit_name",
            "unit_hours",
            "required",
            "category_minimums",
            "caps",
            "grace_days",
            "shares_courses",
            "accepted_accreditations",
            "sources",
            "uncertain",
            "notes",
        ];
        let file: toml::Table = toml::from_str(PROGRAMS_TOML).expect("catalog parses");
        assert_eq!(file.keys().collect::<Vec<_>>(), ["program"]);
        let programs = file["program"].as_array().expect("program is an array");
        for p in programs {
            let table = p.as_table().expect("each program is a table");
            for key in table.keys() {
                assert!(PROGRAM_KEYS.contains(&key.as_str()), "unknown key {key}");
            }
            // Every rule is spelt out, none left to a serde default.
            for key in PROGRAM_KEYS {
                if key != "category_minimums" && key != "caps" {
                    assert!(
                        table.contains_key(key),
                        "{:?} lacks {key}",
                        table.get("slug")
                    );
                }
            }
            for m in table
                .get("category_minimums")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let mut keys: Vec<&String> = m.as_table().unwrap().keys().collect();
                keys.sort();
                assert_eq!(keys, ["category", "minimum"]);
            }
            for c in table
                .get("caps")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let mut keys: Vec<&String> = c.as_table().unwrap().keys().collect();
                keys.sort();
                assert_eq!(keys, ["limit", "scope"]);
            }
        }
    }

    #[test]
    fn ships_the_expected_programs() {
        let slugs: Vec<&str> = builtin().iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(
            slugs,
            [
                "nha-cpt",
                "nha-ccma",
                "ascp-pbt",
                "amt-rpt",
                "amt-cmla",
                "ncct-ncpt",
                "aspt-cpt",
                "amca-cpt",
                "ca-cpt1",
                "ca-cpt2",
                "ca-lpt",
            ]
        );
    }

    #[test]
    fn every_program_validates() {
        for p in builtin() {
            assert_eq!(p.validate(), Ok(()), "{}", p.slug);
        }
    }

    #[test]
    fn slugs_are_unique() {
        let mut seen = HashSet::new();
        for p in builtin() {
            assert!(seen.insert(p.slug.as_str()), "duplicate slug {}", p.slug);
        }
    }

    #[test]
    fn uncertain_programs_say_why_and_where_from() {
        for p in builtin() {
            if p.confidence() == Confidence::Uncertain {
                assert!(
                    p.notes.to_lowercase().contains("uncertain"),
                    "{} must name its uncertain values",
                    p.slug
                );
                assert!(!p.sources.is_empty(), "{} needs a source", p.slug);
                assert_eq!(p.caution(), Some(format!("verify with {}", p.body)));
            }
        }
    }

    #[test]
    fn every_program_has_an_https_source() {
        for p in builtin() {
            assert!(
                p.sources.iter().any(|s| s.starts_with("https://")),
                "{} needs an https source",
                p.slug
            );
        }
    }

    #[test]
    fn no_accreditation_restrictions_are_invented() {
        for p in builtin() {
            assert!(p.accepted_accreditations.is_empty(), "{}", p.slug);
            assert!(p.accepts_accreditation("anything"), "{}", p.slug);
        }
    }

    #[test]
    fn window_equals_cycle_for_every_builtin() {
        for p in builtin() {
            assert_eq!(p.ce_window_months, p.cycle_months, "{}", p.slug);
        }
    }

    #[test]
    fn nha_cpt_is_ten_credits_of_two_hours() {
        let p = program("nha-cpt");
        assert_eq!(p.cycle_months, 24);
        assert_eq!(p.unit_name, "NHA CE credit");
        assert_eq!(p.unit_hours, Credits(200));
        assert_eq!(p.required, Credits::whole(10));
        assert_eq!(p.to_hours(p.required), Credits::whole(20));
        assert_eq!(p.confidence(), Confidence::Uncertain);
        assert_eq!(p.grace_days, 0);
        assert_eq!(program("nha-ccma").required, Credits::whole(10));
    }

    #[test]
    fn ascp_pbt_caps_academic_work_and_needs_safety() {
        let p = program("ascp-pbt");
        assert_eq!(p.cycle_months, 36);
        assert_eq!(p.required, Credits::whole(9));
        assert_eq!(p.unit_hours, Credits::whole(1));
        assert!(p.shares_courses);
        assert_eq!(p.confidence(), Confidence::Uncertain);
        assert_eq!(p.category_minimums.len(), 1);
        assert_eq!(p.category_minimums[0].category, "safety");
        assert_eq!(p.category_minimums[0].minimum, Credits::whole(1));
        assert_eq!(p.caps.len(), 1);
        assert_eq!(p.caps[0].scope, CapScope::Format(Format::Academic));
        assert_eq!(p.caps[0].limit, CapLimit::Percent(50));
    }

    #[test]
    fn amt_points() {
        let rpt = program("amt-rpt");
        assert_eq!((rpt.cycle_months, rpt.required), (36, Credits::whole(24)));
        assert_eq!(rpt.to_hours(rpt.required), Credits::whole(24));
        let cmla = program("amt-cmla");
        assert_eq!((cmla.cycle_months, cmla.required), (36, Credits::whole(30)));
    }

    #[test]
    fn annual_programs() {
        let ncct = program("ncct-ncpt");
        assert_eq!((ncct.cycle_months, ncct.required), (12, Credits::whole(14)));
        assert_eq!(ncct.confidence(), Confidence::Uncertain);
        let aspt = program("aspt-cpt");
        assert_eq!((aspt.cycle_months, aspt.required), (12, Credits::whole(6)));
        assert_eq!(aspt.to_hours(aspt.required), Credits::whole(6));
        assert_eq!(aspt.confidence(), Confidence::Uncertain);
    }

    #[test]
    fn amca_has_a_thirty_day_grace_period() {
        let p = program("amca-cpt");
        assert_eq!((p.cycle_months, p.required), (24, Credits::whole(10)));
        assert_eq!(p.grace_days, 30);
        assert_eq!(p.confidence(), Confidence::Uncertain);
    }

    #[test]
    fn california_is_six_hours_in_twenty_four_months() {
        for slug in ["ca-cpt1", "ca-cpt2", "ca-lpt"] {
            let p = program(slug);
            assert_eq!(p.cycle_months, 24, "{slug}");
            assert_eq!(p.ce_window_months, 24, "{slug}");
            assert_eq!(p.to_hours(p.required), Credits::whole(6), "{slug}");
            assert_eq!(p.confidence(), Confidence::Confirmed, "{slug}");
            assert_eq!(p.caution(), None, "{slug}");
        }
    }

    #[test]
    fn unknown_programs_are_absent() {
        assert!(find("npa-cpt").is_none());
        assert!(find("").is_none());
        assert!(find("NHA-CPT").is_none());
    }
}
