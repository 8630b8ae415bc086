//! Near misses: how names are compared, and the known name closest to a mistyped one, for
//! "did you mean ...?".

/// A program slug as the catalog writes them: trimmed, lowercase, `-` for `_` and spaces, so
/// `NHA-CPT`, `nha_cpt` and `nha-cpt` are the same program.
pub fn normalize_slug(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The candidate closest to `typed`, compared as [`normalize_slug`] does: the shortest one
/// that starts with it (`ca-cpt` for `ca-cpt1`), else the nearest within a few typos (an
/// edit, swap, insertion or deletion per three characters typed).
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = normalize_slug(typed);
    if typed.is_empty() {
        return None;
    }
    let allowed = (typed.chars().count() / 3).max(1);
    let mut best: Option<((bool, usize), &str)> = None;
    for candidate in candidates {
        let known = normalize_slug(candidate);
        // Lower is better: a prefix first (the shortest), then the fewest typos.
        let rank = if known.starts_with(&typed) || typed.starts_with(&known) {
            (false, known.len().abs_diff(typed.len()))
        } else {
            match strsim::damerau_levenshtein(&typed, &known) {
                typos if typos <= allowed => (true, typos),
                _ => continue,
            }
        };
        if best.is_none_or(|(top, _)| rank < top) {
            best = Some((rank, candidate));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_ignore_case_and_separators() {
        assert_eq!(normalize_slug(" NHA_CPT "), "nha-cpt");
        assert_eq!(normalize_slug("Ca Cpt1"), "ca-cpt1");
    }

    #[test]
    fn near_misses_find_the_intended_name() {
        let slugs = ["nha-cpt", "nha-ccma", "ca-cpt1", "ca-cpt2", "ascp-pbt"];
        assert_eq!(closest("ca-cpt", slugs), Some("ca-cpt1"));
        assert_eq!(closest("nha-cpy", slugs), Some("nha-cpt"));
        assert_eq!(closest("ASCP_PBT", slugs), Some("ascp-pbt"));
        assert_eq!(closest("ascp", slugs), Some("ascp-pbt"));
        assert_eq!(closest("zzzz", slugs), None);
        assert_eq!(closest("amt-rpt", slugs), None);
        assert_eq!(closest("", slugs), None);
    }
}
