//! The built-in certification programs: `catalog/programs.toml`, compiled into the daemon.
//!
//! The data file, not code, is where a renewal rule changes: each program carries its
//! sources, the rules it is uncertain of (per field) and notes saying why. Users can still
//! define their own programs; these are only the ones that ship. The same holds for the
//! competency programs (`catalog/competencies.toml`): [`Competencies`] is the set in force,
//! the built-in ones with a lab's stored ones over them.

use crate::domain::{CompetencyProgram, Program};
use serde::Deserialize;
use std::sync::LazyLock;

/// The catalog as shipped.
const PROGRAMS_TOML: &str = include_str!("../catalog/programs.toml");

/// The built-in competency programs as shipped.
const COMPETENCIES_TOML: &str = include_str!("../catalog/competencies.toml");

/// The competency file's shape: an array of `[[competency]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompetencyFile {
    competency: Vec<CompetencyProgram>,
}

static COMPETENCIES: LazyLock<CompetencyFile> = LazyLock::new(|| {
    toml::from_str::<CompetencyFile>(COMPETENCIES_TOML)
        .expect("catalog/competencies.toml is valid (checked by the catalog tests)")
});

/// Every built-in competency program, in the file's order.
pub fn competencies() -> &'static [CompetencyProgram] {
    &COMPETENCIES.competency
}

/// The built-in competency program with this slug, if any.
pub fn competency(slug: &str) -> Option<&'static CompetencyProgram> {
    competencies().iter().find(|p| p.slug == slug)
}

/// The competency programs in force: the built-in ones, with the lab's stored programs
/// over them (a stored program of a built-in slug replaces it; any other adds one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Competencies {
    /// The stored (lab-defined) programs, by slug.
    local: Vec<CompetencyProgram>,
}

/// Where a competency program in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompetencyOrigin {
    /// Shipped with recertd, unchanged.
    BuiltIn,
    /// Stored by the lab: a new program, or an edit of a built-in one.
    Local,
}

impl Competencies {
    /// The programs in force given the lab's stored ones (any order).
    pub fn new(mut local: Vec<CompetencyProgram>) -> Self {
        local.sort_by(|a, b| a.slug.cmp(&b.slug));
        Competencies { local }
    }

    /// The stored programs, by slug.
    pub fn local(&self) -> &[CompetencyProgram] {
        &self.local
    }

    /// The built-in programs alone (no stored one).
    pub fn builtin() -> Self {
        Competencies::default()
    }

    /// The program in force for `slug`, if any.
    pub fn find(&self, slug: &str) -> Option<&CompetencyProgram> {
        self.local
            .iter()
            .find(|p| p.slug == slug)
            .or_else(|| competency(slug))
    }

    /// Every program in force with where it comes from, by slug.
    pub fn in_force(&self) -> Vec<(&CompetencyProgram, CompetencyOrigin)> {
        let mut out: Vec<(&CompetencyProgram, CompetencyOrigin)> = competencies()
            .iter()
            .filter(|b| !self.local.iter().any(|l| l.slug == b.slug))
            .map(|b| (b, CompetencyOrigin::BuiltIn))
            .chain(self.local.iter().map(|l| (l, CompetencyOrigin::Local)))
            .collect();
        out.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
        out
    }

    /// The days a holder's tracked competencies fall due ([`CompetencyProgram::next_due`] of
    /// each skill under the program in force), ascending without repeats: what the
    /// competency index keys the holder by, and the days the alert tick reads it for.
    pub fn due_dates(&self, holder: &crate::domain::Holder) -> Vec<jiff::civil::Date> {
        let mut out: Vec<jiff::civil::Date> = holder
            .competencies
            .iter()
            .filter_map(|skill| self.find(&skill.program)?.next_due(holder.hired_on, skill))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What is wrong with the stored competency programs and the holders' skills on them: a
    /// stored program that no longer validates, a skill on a program not in force. Both engines'
    /// checks report these.
    pub fn problems(&self, holders: &[crate::domain::Holder]) -> Vec<String> {
        let mut out = Vec::new();
        for (program, origin) in self.in_force() {
            if origin == CompetencyOrigin::Local
                && let Err(errors) = program.validate()
            {
                out.push(format!(
                    "competency program {}: {}",
                    program.slug,
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
        for holder in holders {
            for skill in &holder.competencies {
                if self.find(&skill.program).is_none() {
                    out.push(format!(
                        "holder {} has skill {:?} on competency program {}, which is not in force",
                        crate::domain::IdKind::Holder.format(holder.id),
                        skill.skill,
                        skill.program
                    ));
                }
            }
        }
        out
    }
}

/// The file's shape: an array of `[[program]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    program: Vec<Program>,
}

/// Parsed once, on first use. The unit tests below parse and validate the same text, so a
/// broken file fails the build's tests rather than the daemon at run time.
static CATALOG: LazyLock<CatalogFile> = LazyLock::new(|| {
    toml::from_str::<CatalogFile>(PROGRAMS_TOML)
        .expect("catalog/programs.toml is valid (checked by the catalog tests)")
});

/// Every built-in program, in the file's order.
pub fn builtin() -> &'static [Program] {
    &CATALOG.program
}

/// The program in force for a stored local program: a partial override (one naming its
/// local fields) over the built-in program of its slug as shipped, so only its local fields
/// survive a catalog update; any other local program as stored.
pub fn in_force(local: Program) -> Program {
    match find(&local.slug) {
        Some(builtin) if !local.local_fields.is_empty() => local.over(builtin),
        _ => local,
    }
}

/// The built-in program with this slug, if any.
pub fn find(slug: &str) -> Option<&'static Program> {
    builtin().iter().find(|p| p.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AccreditationMinimum, ActivityLimit, Alternative, CapLimit, CapScope, Confidence, Credits,
        CycleAnchor, Dues, Format, MonthDay, RuleField,
    };
    use std::collections::HashSet;

    fn program(slug: &str) -> &'static Program {
        find(slug).unwrap_or_else(|| panic!("{slug} is in the catalog"))
    }

    /// The rules `slug` flags uncertain, sorted.
    fn uncertain(slug: &str) -> Vec<RuleField> {
        let mut fields = program(slug).uncertain.clone();
        fields.sort();
        fields
    }

    /// `fields`, sorted.
    fn sorted(mut fields: Vec<RuleField>) -> Vec<RuleField> {
        fields.sort();
        fields
    }

    #[test]
    fn reinstatement_rules_are_program_fields_with_sources() {
        for slug in ["ca-cpt1", "ca-cpt2", "ca-lpt"] {
            let p = program(slug);
            let r = p.reinstatement.as_ref().expect("California's rule");
            assert_eq!((r.within_months, r.ce_hours), (12, Credits::whole(6)));
            assert!(
                r.describe(p)
                    .starts_with("6 contact hours completed within the last 12 months")
            );
        }
        for slug in ["ascp-pbt", "ascp-dpt", "ascp-mla"] {
            let p = program(slug);
            let r = p.reinstatement.as_ref().expect("ASCP's rule");
            assert_eq!((r.within_months, r.ce_hours), (36, Credits::ZERO));
            assert!(r.describe(p).contains("reinstatement fee"), "{r:?}");
        }
        assert!(program("nha-cpt").reinstatement.is_none());
        for p in builtin() {
            if let Some(r) = &p.reinstatement {
                assert!(!r.sources.is_empty(), "{}: {r:?}", p.slug);
            }
        }
    }

    #[test]
    fn competency_programs_parse_validate_and_cite_sources() {
        let file: CompetencyFile = toml::from_str(COMPETENCIES_TOML).expect("competencies parse");
        let slugs: Vec<&str> = file.competency.iter().map(|c| c.slug.as_str()).collect();
        assert_eq!(slugs, ["clia-testing", "phlebotomy-annual"]);
        for c in &file.competency {
            c.validate().unwrap();
            assert!(
                c.sources.iter().all(|s| s.starts_with("https://")),
                "{}",
                c.slug
            );
        }
        let clia = competency("clia-testing").unwrap();
        assert_eq!(clia.elements.len(), 6);
        assert_eq!(
            (clia.initial_months.as_slice(), clia.every_months),
            (&[6, 12][..], 12)
        );
        assert_eq!(competency("phlebotomy-annual").unwrap().every_months, 12);
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
        // Spelt out in every program, none left to a serde default.
        const REQUIRED_KEYS: [&str; 14] = [
            "slug",
            "body",
            "name",
            "cycle_months",
            "ce_window_months",
            "unit_name",
            "unit_hours",
            "required",
            "grace_days",
            "shares_courses",
            "accepted_accreditations",
            "sources",
            "uncertain",
            "notes",
        ];
        // Rules only some programs have.
        const OPTIONAL_KEYS: [&str; 12] = [
            "category_minimums",
            "caps",
            "cycle_anchor",
            "ce_window_years_before",
            "first_cycle_per_month",
            "exclusive_categories",
            "activity_limits",
            "alternatives",
            "accreditation_minimums",
            "accreditation_required",
            "dues",
            "reinstatement",
        ];
        let keys_of = |v: &toml::Value| -> Vec<String> {
            let mut keys: Vec<String> = v.as_table().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let file: toml::Table = toml::from_str(PROGRAMS_TOML).expect("catalog parses");
        assert_eq!(file.keys().collect::<Vec<_>>(), ["program"]);
        let programs = file["program"].as_array().expect("program is an array");
        for p in programs {
            let table = p.as_table().expect("each program is a table");
            for key in table.keys() {
                assert!(
                    REQUIRED_KEYS.contains(&key.as_str()) || OPTIONAL_KEYS.contains(&key.as_str()),
                    "unknown key {key}"
                );
            }
            for key in REQUIRED_KEYS {
                assert!(
                    table.contains_key(key),
                    "{:?} lacks {key}",
                    table.get("slug")
                );
            }
            let entries = |key: &str| -> Vec<toml::Value> {
                table
                    .get(key)
                    .and_then(|v| v.as_array())
                    .cloned()
                    .unwrap_or_default()
            };
            for m in entries("category_minimums") {
                assert_eq!(keys_of(&m), ["category", "minimum"]);
            }
            for c in entries("caps") {
                assert_eq!(keys_of(&c), ["limit", "scope"]);
            }
            for l in entries("activity_limits") {
                assert_eq!(keys_of(&l), ["once_every_years", "scope"]);
            }
            for a in entries("alternatives") {
                assert_eq!(keys_of(&a), ["required", "work_category", "work_hours"]);
            }
            for m in entries("accreditation_minimums") {
                assert_eq!(keys_of(&m), ["accreditation", "minimum"]);
            }
            if let Some(dues) = table.get("dues") {
                assert_eq!(
                    keys_of(dues),
                    ["amount_cents", "every_months", "month_offset"]
                );
            }
            if let Some(anchor) = table.get("cycle_anchor").and_then(|a| a.as_table()) {
                assert_eq!(anchor.keys().collect::<Vec<_>>(), ["fixed"]);
                assert_eq!(keys_of(&anchor["fixed"]), ["day", "month"]);
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
                "nha-cet",
                "nha-cmaa",
                "nha-cbcs",
                "nha-cehrs",
                "ascp-pbt",
                "ascp-dpt",
                "ascp-mla",
                "amt-rpt",
                "amt-cmla",
                "amt-rma",
                "ncct-ncpt",
                "ncct-ncma",
                "aspt-cpt",
                "amca-cpt",
                "amca-ccma",
                "ca-cpt1",
                "ca-cpt2",
                "ca-lpt",
                "aca-cpt",
                "nhco-cpt",
                "aama-cma",
                "la-phlebotomist",
                "wa-map",
                "nv-lab-assistant",
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

    /// The catalog says which rule is uncertain, never just "something is".
    #[test]
    fn every_flag_names_one_rule() {
        for p in builtin() {
            assert!(
                !p.uncertain.contains(&RuleField::Unspecified),
                "{} flags an unspecified rule",
                p.slug
            );
            for field in &p.uncertain {
                assert_eq!(p.confidence_of(*field), Confidence::Uncertain);
            }
        }
    }

    /// An unknown CE amount is 0 and flagged, and then nothing else about CE is claimed.
    #[test]
    fn an_unknown_requirement_is_flagged_with_every_ce_rule() {
        for p in builtin() {
            if p.required == Credits::ZERO {
                assert!(p.requirement_unknown(), "{}", p.slug);
                for field in [
                    RuleField::CeWindowMonths,
                    RuleField::UnitHours,
                    RuleField::CategoryMinimums,
                    RuleField::Caps,
                    RuleField::AcceptedAccreditations,
                ] {
                    assert_eq!(
                        p.confidence_of(field),
                        Confidence::Uncertain,
                        "{} {field:?}",
                        p.slug
                    );
                }
            }
        }
        let unknown: Vec<&str> = builtin()
            .iter()
            .filter(|p| p.requirement_unknown())
            .map(|p| p.slug.as_str())
            .collect();
        assert_eq!(unknown, ["la-phlebotomist", "wa-map", "nv-lab-assistant"]);
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

    /// Only the restrictions the sources state: ASPT's list and California's "accredited
    /// providers only"; everyone else accepts any accreditation, or none.
    #[test]
    fn accreditation_restrictions_are_the_sourced_ones() {
        for p in builtin() {
            match p.slug.as_str() {
                "aspt-cpt" => {
                    assert!(p.accepts_accreditation("p.a.c.e."));
                    assert!(p.accepts_accreditation("Hospital In-Service"));
                    assert!(p.accepts_accreditation("ASPT"));
                    assert!(!p.accepts_accreditation("ACCME"));
                    assert!(p.accepts_accreditation(""), "unknown is given the benefit");
                }
                "ca-cpt1" | "ca-cpt2" | "ca-lpt" => {
                    assert!(p.accreditation_required, "{}", p.slug);
                    assert!(!p.accepts_accreditation(""), "{}", p.slug);
                    assert!(p.accepts_accreditation("P.A.C.E."), "{}", p.slug);
                }
                _ => {
                    assert!(p.accepted_accreditations.is_empty(), "{}", p.slug);
                    assert!(!p.accreditation_required, "{}", p.slug);
                    assert!(p.accepts_accreditation("anything"), "{}", p.slug);
                    assert!(p.accepts_accreditation(""), "{}", p.slug);
                }
            }
        }
    }

    #[test]
    fn window_equals_cycle_for_every_builtin() {
        for p in builtin() {
            assert_eq!(p.ce_window_months, p.cycle_months, "{}", p.slug);
        }
    }

    /// The README's table names every built-in program.
    #[test]
    fn readme_lists_every_program() {
        let readme = include_str!("../../README.md");
        for p in builtin() {
            assert!(
                readme.contains(&format!("`{}`", p.slug)),
                "README lacks {}",
                p.slug
            );
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

    /// NHA's 2 hours per credit is confirmed; only grace and sharing are open.
    #[test]
    fn nha_rate_is_confirmed() {
        for slug in [
            "nha-cpt",
            "nha-ccma",
            "nha-cet",
            "nha-cmaa",
            "nha-cbcs",
            "nha-cehrs",
        ] {
            let p = program(slug);
            assert_eq!(p.confidence_of(RuleField::UnitHours), Confidence::Confirmed);
            assert_eq!(
                uncertain(slug),
                [RuleField::GraceDays, RuleField::SharesCourses],
                "{slug}"
            );
        }
    }

    #[test]
    fn nha_cet_cmaa_cbcs_cehrs_are_ten_credits_of_two_hours_in_two_years() {
        for (slug, name) in [
            ("nha-cet", "Certified EKG Technician (CET)"),
            (
                "nha-cmaa",
                "Certified Medical Administrative Assistant (CMAA)",
            ),
            ("nha-cbcs", "Certified Billing and Coding Specialist (CBCS)"),
            (
                "nha-cehrs",
                "Certified Electronic Health Records Specialist (CEHRS)",
            ),
        ] {
            let p = program(slug);
            assert_eq!((p.body.as_str(), p.name.as_str()), ("NHA", name));
            assert_eq!((p.cycle_months, p.ce_window_months), (24, 24), "{slug}");
            assert_eq!(p.cycle_anchor, CycleAnchor::Issue, "{slug}");
            assert_eq!(p.unit_hours, Credits(200), "{slug}");
            assert_eq!(p.required, Credits::whole(10), "{slug}");
            assert_eq!(p.to_hours(p.required), Credits::whole(20), "{slug}");
            assert!(
                p.category_minimums.is_empty() && p.caps.is_empty(),
                "{slug}"
            );
            assert_eq!(p.grace_days, 0, "{slug}");
            assert_eq!(p.dues, None, "{slug}");
        }
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

    /// ASCP's 9 points and the safety split stay uncertain; the rest of the CMP is confirmed.
    #[test]
    fn ascp_dpt_and_mla_mirror_pbt_with_the_same_doubts() {
        for slug in ["ascp-pbt", "ascp-dpt", "ascp-mla"] {
            let p = program(slug);
            assert_eq!(p.body, "ASCP BOC");
            assert_eq!((p.cycle_months, p.ce_window_months), (36, 36), "{slug}");
            assert_eq!(p.unit_name, "point");
            assert_eq!(p.unit_hours, Credits::whole(1), "{slug}");
            assert_eq!(p.required, Credits::whole(9), "{slug}");
            assert_eq!(p.category_minimums.len(), 1, "{slug}");
            assert_eq!(p.category_minimums[0].category, "safety");
            assert_eq!(p.category_minimums[0].minimum, Credits::whole(1));
            assert_eq!(p.caps[0].scope, CapScope::Format(Format::Academic));
            assert_eq!(p.caps[0].limit, CapLimit::Percent(50));
            assert_eq!(p.grace_days, 0);
            assert!(p.shares_courses);
            assert_eq!(
                uncertain(slug),
                [RuleField::Required, RuleField::CategoryMinimums],
                "{slug}"
            );
        }
        assert_eq!(
            program("ascp-dpt").name,
            "Donor Phlebotomy Technician, DPT(ASCP)"
        );
        assert_eq!(
            program("ascp-mla").name,
            "Medical Laboratory Assistant, MLA(ASCP)"
        );
    }

    #[test]
    fn amt_points() {
        let rpt = program("amt-rpt");
        assert_eq!((rpt.cycle_months, rpt.required), (36, Credits::whole(24)));
        assert_eq!(rpt.to_hours(rpt.required), Credits::whole(24));
        let cmla = program("amt-cmla");
        assert_eq!((cmla.cycle_months, cmla.required), (36, Credits::whole(30)));
    }

    /// AMT: cycle and count confirmed, points per hour uncertain; $50 a year in the
    /// anniversary month for RPT, CMLA and RMA.
    #[test]
    fn amt_rma_is_thirty_points_and_every_amt_credential_has_dues() {
        let rma = program("amt-rma");
        assert_eq!(rma.name, "Registered Medical Assistant (RMA)");
        assert_eq!((rma.cycle_months, rma.ce_window_months), (36, 36));
        assert_eq!(rma.unit_hours, Credits::whole(1));
        assert_eq!(rma.required, Credits::whole(30));
        assert!(rma.category_minimums.is_empty());
        for slug in ["amt-rpt", "amt-cmla", "amt-rma"] {
            let p = program(slug);
            assert_eq!(
                p.dues,
                Some(Dues {
                    amount_cents: 5000,
                    every_months: 12,
                    month_offset: 0,
                }),
                "{slug}"
            );
            assert_eq!(
                p.confidence_of(RuleField::CycleMonths),
                Confidence::Confirmed
            );
            assert_eq!(p.confidence_of(RuleField::Required), Confidence::Confirmed);
            assert_eq!(p.confidence_of(RuleField::Dues), Confidence::Confirmed);
            assert_eq!(
                uncertain(slug),
                [RuleField::UnitHours, RuleField::SharesCourses],
                "{slug}"
            );
        }
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

    /// NCCT's outside CE reaches back to January 1 of the year before the recertification
    /// year, and recurring employer training counts once every 5 years.
    #[test]
    fn ncct_window_reaches_the_year_before_and_limits_employer_training() {
        for (slug, name) in [
            (
                "ncct-ncpt",
                "National Certified Phlebotomy Technician (NCPT)",
            ),
            ("ncct-ncma", "National Certified Medical Assistant (NCMA)"),
        ] {
            let p = program(slug);
            assert_eq!(p.name, name);
            assert_eq!((p.cycle_months, p.ce_window_months), (12, 12), "{slug}");
            assert_eq!(p.ce_window_years_before, 1, "{slug}");
            assert_eq!(p.unit_name, "clock hour");
            assert_eq!(p.unit_hours, Credits::whole(1));
            assert_eq!(p.required, Credits::whole(14));
            assert!(p.accepted_accreditations.is_empty());
            assert_eq!(
                p.activity_limits,
                [ActivityLimit {
                    scope: CapScope::Category("employer-training".into()),
                    once_every_years: 5,
                }]
            );
            assert_eq!(
                uncertain(slug),
                sorted(vec![
                    RuleField::CycleMonths,
                    RuleField::Required,
                    RuleField::GraceDays,
                    RuleField::SharesCourses,
                ]),
                "{slug}"
            );
            assert_eq!(
                p.confidence_of(RuleField::CeWindowYearsBefore),
                Confidence::Confirmed
            );
        }
    }

    /// ASPT renews between September 1 and November 30: each cycle ends on November 30, and
    /// outside CE counts only from P.A.C.E. or hospital in-services.
    #[test]
    fn aspt_ends_its_cycle_on_november_30() {
        let p = program("aspt-cpt");
        assert_eq!(
            p.cycle_anchor,
            CycleAnchor::Fixed(MonthDay { month: 11, day: 30 })
        );
        assert_eq!(
            p.accepted_accreditations,
            ["ASPT", "P.A.C.E.", "PACE", "hospital in-service"]
        );
        assert_eq!(
            p.confidence_of(RuleField::CycleAnchor),
            Confidence::Confirmed
        );
        assert_eq!(
            uncertain("aspt-cpt"),
            [
                RuleField::UnitHours,
                RuleField::GraceDays,
                RuleField::SharesCourses
            ]
        );
    }

    /// Fixed in the fact check: no AMCA page supports the 30 days of grace the first
    /// collection had, so the grace period is unknown: 0, flagged.
    #[test]
    fn amca_has_no_known_grace_period() {
        let p = program("amca-cpt");
        assert_eq!((p.cycle_months, p.required), (24, Credits::whole(10)));
        assert_eq!(p.grace_days, 0);
        assert_eq!(p.confidence_of(RuleField::GraceDays), Confidence::Uncertain);
        assert_eq!(p.confidence(), Confidence::Uncertain);
    }

    #[test]
    fn amca_ccma_is_ten_credits_in_two_years() {
        let p = program("amca-ccma");
        assert_eq!(p.body, "AMCA");
        assert_eq!(p.name, "Clinical Medical Assistant Certification (CMAC)");
        assert_eq!((p.cycle_months, p.ce_window_months), (24, 24));
        assert_eq!(p.unit_hours, Credits::whole(1));
        assert_eq!(p.required, Credits::whole(10));
        assert!(p.category_minimums.is_empty());
        assert_eq!(p.grace_days, 0);
        assert_eq!(
            uncertain("amca-ccma"),
            [
                RuleField::UnitHours,
                RuleField::GraceDays,
                RuleField::SharesCourses
            ]
        );
    }

    #[test]
    fn california_is_six_hours_in_twenty_four_months() {
        for slug in ["ca-cpt1", "ca-cpt2", "ca-lpt"] {
            let p = program(slug);
            assert_eq!(p.cycle_months, 24, "{slug}");
            assert_eq!(p.ce_window_months, 24, "{slug}");
            assert_eq!(p.to_hours(p.required), Credits::whole(6), "{slug}");
            // Every number is confirmed; what is open is the department's list of accrediting
            // agencies (not obtained) and whether a course may count elsewhere too.
            for field in [
                RuleField::CycleMonths,
                RuleField::CeWindowMonths,
                RuleField::UnitHours,
                RuleField::Required,
                RuleField::GraceDays,
                RuleField::AccreditationRequired,
            ] {
                assert_eq!(p.confidence_of(field), Confidence::Confirmed, "{slug}");
            }
            assert_eq!(
                uncertain(slug),
                [RuleField::SharesCourses, RuleField::AcceptedAccreditations],
                "{slug}"
            );
            assert_eq!(
                p.caution(),
                Some("verify with CDPH Laboratory Field Services".into()),
                "{slug}"
            );
        }
    }

    /// ACA: 12 contact hours every 2 years in certification years from July 1 to June 30;
    /// the first cycle needs 0.5 hour per month certified.
    #[test]
    fn aca_is_twelve_hours_in_july_to_june_years_with_a_pro_rata_first_cycle() {
        let p = program("aca-cpt");
        assert_eq!(p.body, "ACA");
        assert_eq!((p.cycle_months, p.ce_window_months), (24, 24));
        assert_eq!(
            p.cycle_anchor,
            CycleAnchor::Fixed(MonthDay { month: 6, day: 30 })
        );
        assert_eq!(p.unit_hours, Credits::whole(1));
        assert_eq!(p.required, Credits::whole(12));
        assert_eq!(p.first_cycle_per_month, Credits(50));
        assert!(p.category_minimums.is_empty());
        assert_eq!(
            uncertain("aca-cpt"),
            [
                RuleField::GraceDays,
                RuleField::SharesCourses,
                RuleField::AcceptedAccreditations
            ]
        );
    }

    /// NHCO: 20 hours every 2 years, or 10 hours plus 1040 work hours a year.
    #[test]
    fn nhco_is_twenty_hours_or_ten_plus_work_hours() {
        let p = program("nhco-cpt");
        assert_eq!(p.body, "NHCO");
        assert_eq!((p.cycle_months, p.ce_window_months), (24, 24));
        assert_eq!(p.unit_hours, Credits::whole(1));
        assert_eq!(p.required, Credits::whole(20));
        assert_eq!(
            p.alternatives,
            [Alternative {
                required: Credits::whole(10),
                work_category: "work-hours".into(),
                work_hours: Credits::whole(2 * 1040),
            }]
        );
        assert!(p.is_work_category("work-hours"));
        assert_eq!(
            uncertain("nhco-cpt"),
            [RuleField::GraceDays, RuleField::SharesCourses]
        );
    }

    /// AAMA CMA: 60 CEUs in 60 months, 10 administrative, 10 clinical, 10 general (each CEU
    /// in one category), 30 AAMA-approved; reactivation by CE up to 3 months after expiry.
    #[test]
    fn aama_is_sixty_ceus_in_three_exclusive_categories() {
        let p = program("aama-cma");
        assert_eq!(p.body, "AAMA");
        assert_eq!((p.cycle_months, p.ce_window_months), (60, 60));
        assert_eq!(p.unit_name, "CEU");
        assert_eq!(p.unit_hours, Credits::whole(1));
        assert_eq!(p.required, Credits::whole(60));
        let minimums: Vec<(&str, Credits)> = p
            .category_minimums
            .iter()
            .map(|m| (m.category.as_str(), m.minimum))
            .collect();
        assert_eq!(
            minimums,
            [
                ("administrative", Credits::whole(10)),
                ("clinical", Credits::whole(10)),
                ("general", Credits::whole(10)),
            ]
        );
        assert!(p.exclusive_categories);
        assert_eq!(
            p.accreditation_minimums,
            [AccreditationMinimum {
                accreditation: "AAMA".into(),
                minimum: Credits::whole(30),
            }]
        );
        assert_eq!(p.grace_days, 89);
        assert_eq!(p.confidence_of(RuleField::Required), Confidence::Confirmed);
        assert_eq!(
            p.confidence_of(RuleField::CycleMonths),
            Confidence::Confirmed
        );
        assert_eq!(
            p.confidence_of(RuleField::CategoryMinimums),
            Confidence::Uncertain
        );
    }

    /// The state credentials whose CE is unknown: dates as published, CE flagged.
    #[test]
    fn louisiana_washington_and_nevada_track_dates_with_ce_unknown() {
        let la = program("la-phlebotomist");
        assert_eq!(la.body, "LSBME");
        assert_eq!(la.cycle_months, 12);
        assert_eq!(
            la.cycle_anchor,
            CycleAnchor::Fixed(MonthDay { month: 12, day: 31 })
        );
        assert_eq!(la.grace_days, 31);
        assert_eq!(
            la.confidence_of(RuleField::CycleMonths),
            Confidence::Confirmed
        );
        assert_eq!(
            la.confidence_of(RuleField::CycleAnchor),
            Confidence::Confirmed
        );
        assert_eq!(
            la.confidence_of(RuleField::GraceDays),
            Confidence::Uncertain
        );

        let wa = program("wa-map");
        assert_eq!(wa.body, "Washington DOH");
        assert_eq!(wa.cycle_anchor, CycleAnchor::Birthday);
        assert_eq!(
            wa.confidence_of(RuleField::CycleAnchor),
            Confidence::Confirmed
        );
        assert_eq!(
            wa.confidence_of(RuleField::CycleMonths),
            Confidence::Uncertain
        );

        let nv = program("nv-lab-assistant");
        assert_eq!(nv.body, "Nevada DPBH");
        assert_eq!(nv.cycle_months, 24);
        assert_eq!(
            nv.confidence_of(RuleField::CycleMonths),
            Confidence::Uncertain
        );

        for p in [la, wa, nv] {
            assert_eq!(p.required, Credits::ZERO, "{}", p.slug);
            assert!(p.requirement_unknown(), "{}", p.slug);
            assert_eq!(p.unit_hours, Credits::whole(1), "{}", p.slug);
            assert_eq!(p.confidence(), Confidence::Uncertain);
        }
    }

    #[test]
    fn unknown_programs_are_absent() {
        assert!(find("npa-cpt").is_none());
        assert!(find("nca-clplb").is_none());
        assert!(find("").is_none());
        assert!(find("NHA-CPT").is_none());
    }
}
