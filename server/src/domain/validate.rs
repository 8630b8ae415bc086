//! Validation of user-supplied records: every rule a user would expect, reported per field.

use super::alert::{AlertSettings, Channel, ChannelKind};
use super::credits::Credits;
use super::ids::IdKind;
use super::limits;
use super::program::{CapLimit, CapScope, CycleAnchor, Program, RuleField};
use super::records::{Course, Credential, Holder, Verification};
use jiff::civil::Date;

/// Longest name or title, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Longest free text (notes, evidence, provider), in characters.
pub const MAX_TEXT_LEN: usize = 2000;
/// Most contact hours one course may award (a 4-credit semester course is 60 hours).
pub const MAX_COURSE_HOURS: Credits = Credits::whole(200);
/// Longest category name.
const MAX_CATEGORY_LEN: usize = 64;
/// Most categories on one course or minimums on one program.
const MAX_CATEGORIES: usize = 16;
/// Longest e-mail address (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest local part of an e-mail address, before the `@`.
const MAX_EMAIL_LOCAL_LEN: usize = 64;
/// Longest webhook URL.
const MAX_URL_LEN: usize = 2000;
/// Longest webhook signing secret, in bytes.
pub const MAX_SECRET_BYTES: usize = 512;
/// Most thresholds one settings scope may set.
pub const MAX_THRESHOLDS: usize = 12;
/// The farthest threshold, in days before expiry.
pub const MAX_THRESHOLD_DAYS: u32 = 365;

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as named on the wire (e.g. `course.credits_hundredths`).
    pub field: String,
    /// What is wrong, in words a user understands.
    pub message: String,
}

impl FieldError {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses a required `YYYY-MM-DD` date given as text in `field` (surrounding blanks ignored).
pub fn parse_date(field: &str, value: &str) -> Result<Date, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(
            field,
            format!("{field} is required (YYYY-MM-DD)"),
        ));
    }
    // jiff also reads `+002026-01-01` and the like; only the plain ten characters are a date here.
    match value.parse::<Date>() {
        Ok(date) if value.len() == 10 && limits::year_in_range(date.year()) => Ok(date),
        Ok(date) if value.len() == 10 => Err(FieldError::new(
            field,
            format!(
                "{field} {date} is out of range: dates are {}-01-01 to {}-12-31",
                limits::MIN_YEAR,
                limits::MAX_YEAR
            ),
        )),
        _ => Err(FieldError::new(
            field,
            format!(
                "{field} {} is not a valid date (YYYY-MM-DD)",
                limits::quote(value)
            ),
        )),
    }
}

/// Parses a required record id of `kind` given as text in `field` (`h1`, `cr12`).
pub fn parse_id(kind: IdKind, field: &str, value: &str) -> Result<u64, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, format!("{field} is required")));
    }
    kind.parse(value).ok_or_else(|| {
        FieldError::new(
            field,
            format!(
                "{field} {value:?} is not a {} id (like {})",
                kind.noun(),
                kind.format(1)
            ),
        )
    })
}

/// Whether `address` has the shape of an e-mail address, `local@domain.tld`.
///
/// A check against typos and swapped arguments, not RFC 5322 (no quoted local parts, no
/// display names, no address literals); the mail server is the final judge.
pub fn is_email_address(address: &str) -> bool {
    if address.len() > MAX_EMAIL_LEN || address.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= MAX_EMAIL_LOCAL_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !local.contains(['@', '<', '>', ',', ';', '"', '(', ')', '[', ']', '\\']);
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlProblem {
    /// Not an absolute `http://` or `https://` URL with a host.
    NotHttp,
    /// It carries a user name or password (`user:pass@`).
    Credentials,
}

/// Checks a webhook URL: `http://` or `https://`, a host name or IP address, an optional
/// port, no user name or password, no blanks or control characters.
fn check_webhook_url(url: &str) -> Result<(), UrlProblem> {
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlProblem::NotHttp);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(UrlProblem::NotHttp)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlProblem::Credentials);
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (address, after) = v6.split_once(']').ok_or(UrlProblem::NotHttp)?;
            let address_ok = address.contains(':')
                && address
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(UrlProblem::NotHttp)?),
            };
            (address_ok, port)
        }
        None => {
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let host = host.strip_suffix('.').unwrap_or(host);
            let host_ok = !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
                });
            (host_ok, port)
        }
    };
    // An empty port (`host:/`) means the scheme's default, as in a browser.
    let port_ok = port.is_none_or(|p| {
        p.is_empty()
            || (p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= 65_535))
    });
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(UrlProblem::NotHttp)
    }
}

/// Collects field errors.
#[derive(Default)]
struct Check(Vec<FieldError>);

impl Check {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn text(&mut self, field: &str, value: &str, required: bool, max: usize) {
        let len = value.chars().count();
        if required && value.trim().is_empty() {
            self.fail(field, format!("{field} must not be empty"));
        } else if len > max {
            self.fail(
                field,
                format!("{field} must be at most {max} characters (got {len})"),
            );
        } else if value.chars().any(char::is_control) {
            self.fail(
                field,
                format!("{field} must not contain control characters"),
            );
        }
    }

    fn categories(&mut self, field: &str, categories: &[String]) {
        if categories.len() > MAX_CATEGORIES {
            self.fail(
                field,
                format!("{field} may hold at most {MAX_CATEGORIES} entries"),
            );
        }
        for c in categories {
            if c.trim().is_empty() || c.chars().count() > MAX_CATEGORY_LEN {
                self.fail(
                    field,
                    format!("{field} entries must be 1 to {MAX_CATEGORY_LEN} characters"),
                );
                break;
            }
        }
    }

    fn done(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Normalises a category name: trimmed, lowercase.
pub fn normalize_category(c: &str) -> String {
    c.trim().to_lowercase()
}

impl Holder {
    /// Checks name, e-mail and time zone.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("holder.name", &self.name, true, MAX_NAME_LEN);
        let reported = check.0.len();
        check.text("holder.email", &self.email, false, MAX_EMAIL_LEN);
        if check.0.len() == reported && !self.email.is_empty() && !is_email_address(&self.email) {
            check.fail(
                "holder.email",
                format!("holder.email {:?} is not an e-mail address", self.email),
            );
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            check.fail(
                "holder.time_zone",
                format!(
                    "holder.time_zone {:?} is not an IANA time zone (e.g. America/Chicago)",
                    self.time_zone
                ),
            );
        }
        check.done()
    }
}

impl crate::domain::Token {
    /// Checks the name, and that a supervisor or holder token is bound to a holder.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("name", &self.name, false, MAX_NAME_LEN);
        if self.role != crate::domain::Role::Admin && self.holder_id.is_none() {
            check.fail(
                "holder_id",
                format!(
                    "a {} token acts for a holder: give holder_id",
                    self.role.as_str()
                ),
            );
        }
        check.done()
    }
}

impl crate::domain::Team {
    /// Checks the name.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("name", &self.name, true, MAX_NAME_LEN);
        check.done()
    }
}

impl Program {
    /// Checks the slug, cycle, window, amounts, minimums, caps and the other rules.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 48
            && self
                .slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            check.fail(
                "program.slug",
                "program.slug must be 1 to 48 characters of a-z, 0-9 and '-', not starting with '-'",
            );
        }
        check.text("program.body", &self.body, true, MAX_NAME_LEN);
        check.text("program.name", &self.name, true, MAX_NAME_LEN);
        check.text("program.unit", &self.unit_name, true, 64);
        check.text("program.notes", &self.notes, false, MAX_TEXT_LEN);
        for (i, field) in self.local_fields.iter().enumerate() {
            if !Program::OVERRIDABLE.contains(field) {
                check.fail(
                    "program.local_fields",
                    format!(
                        "program.local_fields: {} cannot be overridden on its own (one of: {})",
                        field.name(),
                        Program::OVERRIDABLE.map(|f| f.name()).join(", ")
                    ),
                );
            } else if self.local_fields[..i].contains(field) {
                check.fail(
                    "program.local_fields",
                    format!("program.local_fields: {} is named twice", field.name()),
                );
            }
        }
        if !(1..=120).contains(&self.cycle_months) {
            check.fail(
                "program.cycle_months",
                "program.cycle_months must be between 1 and 120",
            );
        }
        if !(1..=120).contains(&self.ce_window_months) {
            check.fail(
                "program.ce_window_months",
                "program.ce_window_months must be between 1 and 120",
            );
        }
        if self.unit_hours <= Credits::ZERO || self.unit_hours > Credits::whole(100) {
            check.fail(
                "program.unit_hours_hundredths",
                "program.unit_hours_hundredths must be above 0 and at most 10000 (100 hours per unit)",
            );
        }
        // 0 means "unknown", and is allowed only when the program says so.
        let unknown_ok =
            self.required == Credits::ZERO && self.uncertain.contains(&RuleField::Required);
        if (self.required <= Credits::ZERO && !unknown_ok) || self.required > Credits::whole(10_000)
        {
            check.fail(
                "program.required_hundredths",
                "program.required_hundredths must be above 0 and at most 1000000",
            );
        }
        if self.grace_days > 3650 {
            check.fail(
                "program.grace_days",
                "program.grace_days must be at most 3650",
            );
        }
        check.categories(
            "program.category_minimums",
            &self
                .category_minimums
                .iter()
                .map(|m| m.category.clone())
                .collect::<Vec<_>>(),
        );
        for m in &self.category_minimums {
            if m.minimum <= Credits::ZERO || m.minimum > self.required {
                check.fail(
                    "program.category_minimums",
                    format!(
                        "program.category_minimums: the minimum of category {:?} must be above 0 and at most the required credits",
                        m.category
                    ),
                );
            }
        }
        for cap in &self.caps {
            if matches!(&cap.scope, CapScope::Category(c) if c.trim().is_empty()) {
                check.fail(
                    "program.caps",
                    "program.caps: a cap needs a category or a format",
                );
            }
            match cap.limit {
                CapLimit::Percent(p) if !(1..=100).contains(&p) => check.fail(
                    "program.caps",
                    "program.caps: max_percent must be between 1 and 100",
                ),
                CapLimit::Amount(a) if a <= Credits::ZERO => check.fail(
                    "program.caps",
                    "program.caps: max_hundredths must be above 0",
                ),
                _ => {}
            }
        }
        self.validate_rules(&mut check);
        self.validate_sizes(&mut check);
        if let Some(r) = &self.reinstatement {
            check.text("program.reinstatement.note", &r.note, false, MAX_TEXT_LEN);
            if r.within_months > 1200 {
                check.fail(
                    "program.reinstatement.within_months",
                    "program.reinstatement.within_months must be at most 1200",
                );
            }
            if r.ce_hours < Credits::ZERO || r.ce_hours > Credits::whole(1000) {
                check.fail(
                    "program.reinstatement.ce_hours",
                    "program.reinstatement.ce_hours must be between 0 and 1000",
                );
            }
            if r.sources.len() > limits::MAX_SOURCES {
                check.fail(
                    "program.reinstatement.sources",
                    format!(
                        "program.reinstatement.sources may hold at most {} entries",
                        limits::MAX_SOURCES
                    ),
                );
            }
            for (i, s) in r.sources.iter().enumerate() {
                if !(s.starts_with("https://") || s.starts_with("http://"))
                    || s.len() > 500
                    || s.chars().any(char::is_control)
                {
                    check.fail(
                        "program.reinstatement.sources",
                        format!("program.reinstatement.sources[{i}] must be an http(s) URL"),
                    );
                }
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if !(s.starts_with("https://") || s.starts_with("http://"))
                || s.len() > 500
                || s.chars().any(char::is_control)
            {
                check.fail(
                    "program.sources",
                    format!("program.sources[{i}] must be an http(s) URL"),
                );
            }
        }
        check.done()
    }

    /// Checks the counts of the program's lists against [`limits`], and that each accepted
    /// accreditation is a short name without control characters (the same limits hold for a
    /// program from a request and one from an import line).
    fn validate_sizes(&self, check: &mut Check) {
        for (field, len, max) in [
            ("program.caps", self.caps.len(), limits::MAX_CAPS),
            (
                "program.accepted_accreditations",
                self.accepted_accreditations.len(),
                limits::MAX_ACCREDITATIONS,
            ),
            ("program.sources", self.sources.len(), limits::MAX_SOURCES),
        ] {
            if len > max {
                check.fail(field, format!("{field} may hold at most {max} entries"));
            }
        }
        if self.accepted_accreditations.len() <= limits::MAX_ACCREDITATIONS {
            for a in &self.accepted_accreditations {
                check.text("program.accepted_accreditations", a, true, MAX_NAME_LEN);
            }
        }
    }
}

impl Program {
    /// Checks the rules beyond cycle, window, amounts, minimums and caps: cycle anchor, window
    /// reach, pro-rata first cycle, activity limits, alternatives, accreditations, dues and
    /// the uncertain flags.
    fn validate_rules(&self, check: &mut Check) {
        if let CycleAnchor::Fixed(day) = self.cycle_anchor
            && !day.is_valid()
        {
            check.fail(
                "program.cycle_anchor",
                format!(
                    "program.cycle_anchor: month {} day {} is not a day of the year",
                    day.month, day.day
                ),
            );
        }
        if self.ce_window_years_before > 10 {
            check.fail(
                "program.ce_window_years_before",
                "program.ce_window_years_before must be at most 10",
            );
        }
        if self.first_cycle_per_month < Credits::ZERO
            || (self.first_cycle_per_month > self.required && self.required > Credits::ZERO)
        {
            check.fail(
                "program.first_cycle_per_month_hundredths",
                "program.first_cycle_per_month_hundredths must be at least 0 and at most the required credits",
            );
        }
        if self.exclusive_categories && self.category_minimums.len() < 2 {
            check.fail(
                "program.exclusive_categories",
                "program.exclusive_categories needs at least two category minimums",
            );
        }
        if self.activity_limits.len() > MAX_CATEGORIES {
            check.fail(
                "program.activity_limits",
                format!("program.activity_limits may hold at most {MAX_CATEGORIES} entries"),
            );
        }
        for limit in &self.activity_limits {
            if matches!(&limit.scope, CapScope::Category(c) if c.trim().is_empty()) {
                check.fail(
                    "program.activity_limits",
                    "program.activity_limits: a limit needs a category or a format",
                );
            }
            if !(1..=50).contains(&limit.once_every_years) {
                check.fail(
                    "program.activity_limits",
                    "program.activity_limits: once_every_years must be between 1 and 50",
                );
            }
        }
        check.categories(
            "program.alternatives",
            &self
                .alternatives
                .iter()
                .map(|a| a.work_category.clone())
                .collect::<Vec<_>>(),
        );
        for alt in &self.alternatives {
            if alt.required < Credits::ZERO || alt.required > self.required {
                check.fail(
                    "program.alternatives",
                    "program.alternatives: the CE an alternative requires must be at least 0 and at most the required credits",
                );
            }
            if alt.work_hours <= Credits::ZERO || alt.work_hours > Credits::whole(100_000) {
                check.fail(
                    "program.alternatives",
                    "program.alternatives: work_hours must be above 0 and at most 10000000 hundredths",
                );
            }
            if self
                .category_minimums
                .iter()
                .any(|m| m.category == alt.work_category)
            {
                check.fail(
                    "program.alternatives",
                    format!(
                        "program.alternatives: {:?} is a work category and cannot also have a CE minimum",
                        alt.work_category
                    ),
                );
            }
        }
        if self.accreditation_minimums.len() > MAX_CATEGORIES {
            check.fail(
                "program.accreditation_minimums",
                format!("program.accreditation_minimums may hold at most {MAX_CATEGORIES} entries"),
            );
        }
        for m in &self.accreditation_minimums {
            if m.accreditation.trim().is_empty()
                || m.accreditation.chars().count() > MAX_NAME_LEN
                || m.accreditation.chars().any(char::is_control)
            {
                check.fail(
                    "program.accreditation_minimums",
                    format!(
                        "program.accreditation_minimums: an accreditation must be 1 to {MAX_NAME_LEN} characters"
                    ),
                );
            }
            if m.minimum <= Credits::ZERO || m.minimum > self.required {
                check.fail(
                    "program.accreditation_minimums",
                    format!(
                        "program.accreditation_minimums: the minimum of {:?} must be above 0 and at most the required credits",
                        m.accreditation
                    ),
                );
            }
        }
        if let Some(dues) = self.dues {
            if !(1..=120).contains(&dues.every_months) {
                check.fail(
                    "program.dues",
                    "program.dues: every_months must be between 1 and 120",
                );
            }
            if !(-11..=11).contains(&dues.month_offset) {
                check.fail(
                    "program.dues",
                    "program.dues: month_offset must be between -11 and 11",
                );
            }
            if dues.amount_cents > 10_000_000 {
                check.fail(
                    "program.dues",
                    "program.dues: amount_cents must be at most 10000000",
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        if self.uncertain.iter().any(|f| !seen.insert(*f)) {
            check.fail("program.uncertain", "program.uncertain names a field twice");
        }
    }
}

impl Credential {
    /// Checks the number and dates.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("credential.number", &self.number, false, 64);
        if let Some(issued) = self.issued_on.filter(|&issued| issued >= self.expires_on) {
            check.fail(
                "credential.expires_on",
                format!(
                    "credential.expires_on ({}) must be after issued_on ({issued})",
                    self.expires_on
                ),
            );
        }
        if self.expires_on.year() < 1950 || self.expires_on.year() > 2200 {
            check.fail(
                "credential.expires_on",
                "credential.expires_on must be between 1950 and 2200",
            );
        }
        check.done()
    }
}

impl Verification {
    /// Checks who checked, where, and the day (not after `today`, not before 1950).
    pub fn validate(&self, today: Date) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text(
            "verification.checked_by",
            &self.checked_by,
            true,
            MAX_NAME_LEN,
        );
        check.text("verification.source", &self.source, false, MAX_URL_LEN);
        if self.checked_on > today {
            check.fail(
                "verification.checked_on",
                format!(
                    "verification.checked_on ({}) is in the future (today is {today})",
                    self.checked_on
                ),
            );
        }
        if self.checked_on.year() < 1950 {
            check.fail(
                "verification.checked_on",
                "verification.checked_on must be after 1950",
            );
        }
        check.done()
    }
}

impl Course {
    /// Checks title, amount, date (not after `today`), categories and texts.
    pub fn validate(&self, today: Date) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("course.title", &self.title, true, MAX_NAME_LEN);
        check.text("course.provider", &self.provider, false, MAX_NAME_LEN);
        check.text(
            "course.accreditation",
            &self.accreditation,
            false,
            MAX_NAME_LEN,
        );
        check.text("course.evidence", &self.evidence, false, MAX_TEXT_LEN);
        if self.amount <= Credits::ZERO {
            check.fail(
                "course.credits_hundredths",
                "course.credits_hundredths must be above 0",
            );
        } else if self.hours() > MAX_COURSE_HOURS {
            check.fail(
                "course.credits_hundredths",
                format!(
                    "course.credits_hundredths: {} {} is {} contact hours, above the maximum of {} per course",
                    self.amount,
                    self.unit.name(),
                    self.hours(),
                    MAX_COURSE_HOURS
                ),
            );
        }
        if self.completed_on > today {
            check.fail(
                "course.completed_on",
                format!(
                    "course.completed_on ({}) is in the future (today is {today})",
                    self.completed_on
                ),
            );
        }
        if self.completed_on.year() < 1950 {
            check.fail(
                "course.completed_on",
                "course.completed_on must be 1950 or later",
            );
        }
        check.categories("course.categories", &self.categories);
        check.done()
    }
}

impl Channel {
    /// Checks the target against the kind, and the secret: a webhook is an `http(s)` URL with
    /// a host and without a user name or password (it would be stored and listed in clear; the
    /// secret signs deliveries instead); an e-mail channel is an address and has no secret; a
    /// secret is at most [`MAX_SECRET_BYTES`].
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        match self.kind {
            ChannelKind::Webhook => match check_webhook_url(&self.target) {
                Ok(()) => {}
                Err(UrlProblem::NotHttp) => check.fail(
                    "channel.target",
                    format!("channel.target {:?} is not an http(s) URL", self.target),
                ),
                Err(UrlProblem::Credentials) => check.fail(
                    "channel.target",
                    format!(
                        "channel.target {:?} contains a user name or password, which would be stored and listed in clear; sign deliveries with the channel's secret instead",
                        self.target
                    ),
                ),
            },
            ChannelKind::Email => {
                if !is_email_address(&self.target) {
                    check.fail(
                        "channel.target",
                        format!("channel.target {:?} is not an e-mail address", self.target),
                    );
                }
                if !self.secret.is_empty() {
                    check.fail("channel.secret", "channel.secret applies to webhooks only");
                }
            }
        }
        if self.secret.len() > MAX_SECRET_BYTES {
            check.fail(
                "channel.secret",
                format!("channel.secret must be at most {MAX_SECRET_BYTES} bytes"),
            );
        }
        check.done()
    }
}

impl AlertSettings {
    /// Checks the thresholds as given, before [`normalized`](Self::normalized): at most
    /// [`MAX_THRESHOLDS`] values, each 1 to [`MAX_THRESHOLD_DAYS`] days.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        let thresholds = self.thresholds.as_deref().unwrap_or_default();
        if thresholds.len() > MAX_THRESHOLDS {
            check.fail(
                "alert_settings.thresholds",
                format!("alert_settings.thresholds may hold at most {MAX_THRESHOLDS} values"),
            );
        }
        if thresholds
            .iter()
            .any(|t| !(1..=MAX_THRESHOLD_DAYS).contains(t))
        {
            check.fail(
                "alert_settings.thresholds",
                format!(
                    "alert_settings.thresholds must each be between 1 and {MAX_THRESHOLD_DAYS} days"
                ),
            );
        }
        check.done()
    }

    /// The settings as stored: thresholds from the farthest to the nearest without repeats,
    /// and an empty list as `None` (the defaults apply).
    pub fn normalized(mut self) -> Self {
        self.thresholds = self.thresholds.take().and_then(|mut t| {
            t.sort_unstable_by(|a, b| b.cmp(a));
            t.dedup();
            (!t.is_empty()).then_some(t)
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credits::Unit;
    use crate::domain::program::{Cap, CategoryMinimum, CycleAnchor, RuleField};
    use crate::domain::records::Format;
    use jiff::civil::date;

    /// The fields that failed, in order.
    fn fields(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn holder() -> Holder {
        Holder {
            id: 1,
            name: "Ana Ruiz".into(),
            email: "ana@example.org".into(),
            time_zone: "America/Chicago".into(),
            hired_on: None,
            competencies: Vec::new(),
        }
    }

    #[test]
    fn a_good_holder_passes() {
        assert_eq!(holder().validate(), Ok(()));
        let no_email = Holder {
            email: String::new(),
            time_zone: "UTC".into(),
            ..holder()
        };
        assert_eq!(no_email.validate(), Ok(()));
    }

    #[test]
    fn holder_name_is_required_and_bounded() {
        for name in ["", "   "] {
            let h = Holder {
                name: name.into(),
                ..holder()
            };
            assert_eq!(fields(h.validate()), ["holder.name"], "{name:?}");
        }
        let longest = Holder {
            name: "n".repeat(MAX_NAME_LEN),
            ..holder()
        };
        assert_eq!(longest.validate(), Ok(()));
        let too_long = Holder {
            name: "é".repeat(MAX_NAME_LEN + 1),
            ..holder()
        };
        let errors = too_long.validate().unwrap_err();
        assert_eq!(errors[0].field, "holder.name");
        assert_eq!(
            errors[0].message,
            "holder.name must be at most 200 characters (got 201)"
        );
        let control = Holder {
            name: "Ana\nRuiz".into(),
            ..holder()
        };
        assert_eq!(fields(control.validate()), ["holder.name"]);
    }

    #[test]
    fn bad_emails_are_rejected() {
        for email in [
            "ana",
            "ana@example",
            "@example.org",
            "ana@.org",
            "ana@example.",
            "ana ruiz@example.org",
            "ana@exa mple.org",
        ] {
            let h = Holder {
                email: email.into(),
                ..holder()
            };
            assert_eq!(fields(h.validate()), ["holder.email"], "{email:?}");
        }
        let h = Holder {
            email: "a.b+ce@lab.example.org".into(),
            ..holder()
        };
        assert_eq!(h.validate(), Ok(()));
    }

    #[test]
    fn email_addresses_need_a_plain_local_part_and_a_dotted_domain() {
        for good in [
            "alice.smith+ce@mail.example.org",
            "a@b.co",
            "o'neil@example.org",
            "jos\u{e9}@exampl\u{e9}.fr",
        ] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "alice@localhost",
            "alice@example..org",
            "alice@-example.org",
            "alice@example-.org",
            "alice@exa_mple.org",
            "alice@@example.org",
            "alice smith@example.org",
            "alice.@example.org",
            ".alice@example.org",
            "al..ice@example.org",
            "Alice <alice@example.org>",
            "alice,bob@example.org",
            "https://example.org",
            "alice@example.org\n",
        ] {
            assert!(!is_email_address(bad), "{bad:?}");
        }
        let long_local = format!("{}@example.org", "a".repeat(65));
        assert!(!is_email_address(&long_local));
        let long = format!("a@{}.org", "b".repeat(250));
        assert!(!is_email_address(&long));
    }

    #[test]
    fn the_holder_and_channel_e_mail_rules_are_one() {
        for address in ["ana@example.org", "ana..r@example.org", "ana@-x.org", "ana"] {
            let holder_ok = Holder {
                email: address.into(),
                ..holder()
            }
            .validate()
            .is_ok();
            let channel_ok = Channel {
                kind: ChannelKind::Email,
                secret: String::new(),
                ..webhook(address)
            }
            .validate()
            .is_ok();
            assert_eq!(holder_ok, channel_ok, "{address}");
            assert_eq!(holder_ok, is_email_address(address), "{address}");
        }
    }

    #[test]
    fn bad_time_zones_are_rejected() {
        for tz in ["", "Mars/Olympus_Mons", "America/Chicag", "CST6CDT7"] {
            let h = Holder {
                time_zone: tz.into(),
                ..holder()
            };
            assert_eq!(fields(h.validate()), ["holder.time_zone"], "{tz:?}");
        }
        let errors = Holder {
            time_zone: "Nowhere".into(),
            ..holder()
        }
        .validate()
        .unwrap_err();
        assert!(errors[0].message.contains("e.g. America/Chicago"));
    }

    #[test]
    fn every_holder_error_is_reported_at_once() {
        let h = Holder {
            id: 1,
            name: String::new(),
            email: "nope".into(),
            time_zone: "Nowhere".into(),
            hired_on: None,
            competencies: Vec::new(),
        };
        assert_eq!(
            fields(h.validate()),
            ["holder.name", "holder.email", "holder.time_zone"]
        );
    }

    fn program() -> Program {
        Program {
            local_fields: Vec::new(),
            reinstatement: None,
            slug: "ascp-pbt".into(),
            body: "ASCP BOC".into(),
            name: "Phlebotomy Technician".into(),
            cycle_months: 36,
            cycle_anchor: CycleAnchor::Issue,
            ce_window_months: 36,
            ce_window_years_before: 0,
            unit_name: "point".into(),
            unit_hours: Credits(100),
            required: Credits::whole(9),
            first_cycle_per_month: Credits::ZERO,
            category_minimums: vec![CategoryMinimum {
                category: "safety".into(),
                minimum: Credits::whole(1),
            }],
            exclusive_categories: false,
            caps: vec![Cap {
                scope: CapScope::Format(Format::Academic),
                limit: CapLimit::Percent(50),
            }],
            activity_limits: vec![],
            alternatives: vec![],
            accreditation_minimums: vec![],
            grace_days: 0,
            shares_courses: true,
            accepted_accreditations: vec![],
            accreditation_required: false,
            dues: None,
            sources: vec!["https://www.ascp.org/boc".into()],
            uncertain: vec![RuleField::Unspecified],
            notes: "Nine points.".into(),
        }
    }

    #[test]
    fn a_good_program_passes() {
        assert_eq!(program().validate(), Ok(()));
    }

    #[test]
    fn slugs() {
        for slug in ["nha-cpt", "ca-cpt1", "x", "a-", &"a".repeat(48)] {
            let p = Program {
                slug: slug.to_string(),
                ..program()
            };
            assert_eq!(p.validate(), Ok(()), "{slug:?}");
        }
        for slug in [
            "",
            "NHA-CPT",
            "-nha",
            "nha_cpt",
            "nha cpt",
            "nhä",
            &"a".repeat(49),
        ] {
            let p = Program {
                slug: slug.to_string(),
                ..program()
            };
            assert_eq!(fields(p.validate()), ["program.slug"], "{slug:?}");
        }
    }

    #[test]
    fn program_numbers_are_bounded() {
        let cases: Vec<(Program, &str)> = vec![
            (
                Program {
                    cycle_months: 0,
                    ..program()
                },
                "program.cycle_months",
            ),
            (
                Program {
                    cycle_months: 121,
                    ..program()
                },
                "program.cycle_months",
            ),
            (
                Program {
                    ce_window_months: 0,
                    ..program()
                },
                "program.ce_window_months",
            ),
            (
                Program {
                    ce_window_months: 121,
                    ..program()
                },
                "program.ce_window_months",
            ),
            (
                Program {
                    unit_hours: Credits::ZERO,
                    ..program()
                },
                "program.unit_hours_hundredths",
            ),
            (
                Program {
                    unit_hours: Credits(10_001),
                    ..program()
                },
                "program.unit_hours_hundredths",
            ),
            (
                Program {
                    grace_days: 3651,
                    ..program()
                },
                "program.grace_days",
            ),
            (
                Program {
                    body: " ".into(),
                    ..program()
                },
                "program.body",
            ),
            (
                Program {
                    name: String::new(),
                    ..program()
                },
                "program.name",
            ),
            (
                Program {
                    unit_name: String::new(),
                    ..program()
                },
                "program.unit",
            ),
            (
                Program {
                    notes: "n".repeat(MAX_TEXT_LEN + 1),
                    ..program()
                },
                "program.notes",
            ),
            (
                Program {
                    notes: "two\nlines".into(),
                    ..program()
                },
                "program.notes",
            ),
        ];
        for (p, field) in cases {
            assert_eq!(fields(p.validate()), [field]);
        }
        let edges = [
            Program {
                cycle_months: 1,
                ce_window_months: 120,
                ..program()
            },
            Program {
                unit_hours: Credits(10_000),
                grace_days: 3650,
                ..program()
            },
        ];
        for p in edges {
            assert_eq!(p.validate(), Ok(()));
        }
    }

    #[test]
    fn required_must_be_positive() {
        for required in [0, -100] {
            let p = Program {
                required: Credits(required),
                category_minimums: vec![],
                ..program()
            };
            assert_eq!(fields(p.validate()), ["program.required_hundredths"]);
        }
        let p = Program {
            required: Credits(1_000_001),
            ..program()
        };
        assert_eq!(fields(p.validate()), ["program.required_hundredths"]);
    }

    /// A requirement of 0 means "unknown", and only a program that flags it may say so.
    #[test]
    fn required_may_be_zero_only_when_flagged_unknown() {
        let p = Program {
            required: Credits::ZERO,
            category_minimums: vec![],
            uncertain: vec![RuleField::Required],
            ..program()
        };
        assert_eq!(p.validate(), Ok(()));
        for uncertain in [
            vec![],
            vec![RuleField::Unspecified],
            vec![RuleField::UnitHours],
        ] {
            let p = Program {
                required: Credits::ZERO,
                category_minimums: vec![],
                uncertain,
                ..program()
            };
            assert_eq!(fields(p.validate()), ["program.required_hundredths"]);
        }
        let p = Program {
            required: Credits(-100),
            category_minimums: vec![],
            uncertain: vec![RuleField::Required],
            ..program()
        };
        assert_eq!(fields(p.validate()), ["program.required_hundredths"]);
    }

    #[test]
    fn the_rules_of_the_completed_catalog_are_checked() {
        use crate::domain::program::{
            AccreditationMinimum, ActivityLimit, Alternative, Dues, MonthDay,
        };
        let good = Program {
            cycle_anchor: CycleAnchor::Fixed(MonthDay { month: 2, day: 29 }),
            ce_window_years_before: 1,
            first_cycle_per_month: Credits(50),
            category_minimums: vec![
                CategoryMinimum {
                    category: "clinical".into(),
                    minimum: Credits::whole(1),
                },
                CategoryMinimum {
                    category: "general".into(),
                    minimum: Credits::whole(1),
                },
            ],
            exclusive_categories: true,
            activity_limits: vec![ActivityLimit {
                scope: CapScope::Category("employer-training".into()),
                once_every_years: 5,
            }],
            alternatives: vec![Alternative {
                required: Credits::whole(5),
                work_category: "work-hours".into(),
                work_hours: Credits::whole(2080),
            }],
            accreditation_minimums: vec![AccreditationMinimum {
                accreditation: "AAMA".into(),
                minimum: Credits::whole(3),
            }],
            accreditation_required: true,
            dues: Some(Dues {
                amount_cents: 5000,
                every_months: 12,
                month_offset: -1,
            }),
            uncertain: vec![RuleField::Dues, RuleField::Required],
            ..program()
        };
        assert_eq!(good.validate(), Ok(()));
        let cases: Vec<(Program, &str)> = vec![
            (
                Program {
                    cycle_anchor: CycleAnchor::Fixed(MonthDay { month: 4, day: 31 }),
                    ..good.clone()
                },
                "program.cycle_anchor",
            ),
            (
                Program {
                    ce_window_years_before: 11,
                    ..good.clone()
                },
                "program.ce_window_years_before",
            ),
            (
                Program {
                    first_cycle_per_month: Credits::whole(10),
                    ..good.clone()
                },
                "program.first_cycle_per_month_hundredths",
            ),
            (
                Program {
                    category_minimums: good.category_minimums[..1].to_vec(),
                    ..good.clone()
                },
                "program.exclusive_categories",
            ),
            (
                Program {
                    activity_limits: vec![ActivityLimit {
                        scope: CapScope::Category(" ".into()),
                        once_every_years: 0,
                    }],
                    ..good.clone()
                },
                "program.activity_limits",
            ),
            (
                Program {
                    alternatives: vec![Alternative {
                        required: Credits::whole(10),
                        work_category: "clinical".into(),
                        work_hours: Credits::ZERO,
                    }],
                    ..good.clone()
                },
                "program.alternatives",
            ),
            (
                Program {
                    accreditation_minimums: vec![AccreditationMinimum {
                        accreditation: String::new(),
                        minimum: Credits::whole(10),
                    }],
                    ..good.clone()
                },
                "program.accreditation_minimums",
            ),
            (
                Program {
                    dues: Some(Dues {
                        amount_cents: 5000,
                        every_months: 0,
                        month_offset: 12,
                    }),
                    ..good.clone()
                },
                "program.dues",
            ),
            (
                Program {
                    uncertain: vec![RuleField::Dues, RuleField::Dues],
                    ..good.clone()
                },
                "program.uncertain",
            ),
        ];
        for (p, field) in cases {
            let got = fields(p.validate());
            assert!(!got.is_empty(), "{field}");
            assert!(got.iter().all(|f| f == field), "{field}: {got:?}");
        }
    }

    #[test]
    fn category_minimums_fit_inside_the_requirement() {
        for minimum in [0, -1, 901] {
            let p = Program {
                category_minimums: vec![CategoryMinimum {
                    category: "safety".into(),
                    minimum: Credits(minimum),
                }],
                ..program()
            };
            assert_eq!(
                fields(p.validate()),
                ["program.category_minimums"],
                "{minimum}"
            );
        }
        let whole = Program {
            category_minimums: vec![CategoryMinimum {
                category: "safety".into(),
                minimum: Credits::whole(9),
            }],
            ..program()
        };
        assert_eq!(whole.validate(), Ok(()));
        let unnamed = Program {
            category_minimums: vec![CategoryMinimum {
                category: " ".into(),
                minimum: Credits::whole(1),
            }],
            ..program()
        };
        assert_eq!(fields(unnamed.validate()), ["program.category_minimums"]);
    }

    #[test]
    fn caps_out_of_range() {
        let bad = [
            Cap {
                scope: CapScope::Format(Format::Academic),
                limit: CapLimit::Percent(0),
            },
            Cap {
                scope: CapScope::Format(Format::Academic),
                limit: CapLimit::Percent(101),
            },
            Cap {
                scope: CapScope::Category("in-service".into()),
                limit: CapLimit::Amount(Credits::ZERO),
            },
            Cap {
                scope: CapScope::Category("in-service".into()),
                limit: CapLimit::Amount(Credits(-100)),
            },
            Cap {
                scope: CapScope::Category("  ".into()),
                limit: CapLimit::Percent(50),
            },
        ];
        for cap in bad {
            let p = Program {
                caps: vec![cap.clone()],
                ..program()
            };
            assert_eq!(fields(p.validate()), ["program.caps"], "{cap:?}");
        }
        let good = [
            CapLimit::Percent(1),
            CapLimit::Percent(100),
            CapLimit::Amount(Credits(1)),
        ];
        for limit in good {
            let p = Program {
                caps: vec![Cap {
                    scope: CapScope::Category("in-service".into()),
                    limit,
                }],
                ..program()
            };
            assert_eq!(p.validate(), Ok(()), "{limit:?}");
        }
    }

    #[test]
    fn sources_are_http_urls() {
        for source in [
            "www.ascp.org",
            "ftp://ascp.org",
            "",
            &format!("https://{}", "a".repeat(500)),
        ] {
            let p = Program {
                sources: vec![source.to_string()],
                ..program()
            };
            let errors = p.validate().unwrap_err();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field, "program.sources");
            assert_eq!(
                errors[0].message,
                "program.sources[0] must be an http(s) URL"
            );
        }
        let p = Program {
            sources: vec!["http://cdph.ca.gov/x".into()],
            ..program()
        };
        assert_eq!(p.validate(), Ok(()));
    }

    fn credential() -> Credential {
        Credential {
            id: 1,
            holder_id: 1,
            program: "nha-cpt".into(),
            number: "A-123".into(),
            issued_on: Some(date(2025, 1, 1)),
            expires_on: date(2027, 1, 1),
            history: vec![],
            verifications: Vec::new(),
        }
    }

    #[test]
    fn credential_dates() {
        assert_eq!(credential().validate(), Ok(()));
        assert_eq!(
            Credential {
                issued_on: None,
                ..credential()
            }
            .validate(),
            Ok(())
        );
        for issued in [date(2027, 1, 1), date(2027, 1, 2)] {
            let c = Credential {
                issued_on: Some(issued),
                ..credential()
            };
            assert_eq!(fields(c.validate()), ["credential.expires_on"], "{issued}");
        }
        let errors = Credential {
            issued_on: Some(date(2027, 6, 1)),
            ..credential()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors[0].message,
            "credential.expires_on (2027-01-01) must be after issued_on (2027-06-01)"
        );
        for expires in [date(1949, 12, 31), date(2201, 1, 1)] {
            let c = Credential {
                issued_on: None,
                expires_on: expires,
                ..credential()
            };
            assert_eq!(fields(c.validate()), ["credential.expires_on"], "{expires}");
        }
        for expires in [date(1950, 1, 1), date(2200, 12, 31)] {
            let c = Credential {
                issued_on: None,
                expires_on: expires,
                ..credential()
            };
            assert_eq!(c.validate(), Ok(()), "{expires}");
        }
        let long = Credential {
            number: "9".repeat(65),
            ..credential()
        };
        assert_eq!(fields(long.validate()), ["credential.number"]);
    }

    const TODAY: jiff::civil::Date = date(2026, 11, 24);

    fn course() -> Course {
        Course {
            id: 1,
            holder_id: 1,
            title: "Safety in specimen collection".into(),
            provider: "ASCLS".into(),
            accreditation: "P.A.C.E.".into(),
            completed_on: date(2026, 10, 1),
            amount: Credits::whole(2),
            unit: Unit::Hours,
            categories: vec!["safety".into()],
            format: Some(Format::Online),
            credential_ids: vec![],
            evidence: String::new(),
        }
    }

    #[test]
    fn a_good_course_passes() {
        assert_eq!(course().validate(TODAY), Ok(()));
    }

    #[test]
    fn course_title_is_required_and_bounded() {
        for title in ["", " \t "] {
            let c = Course {
                title: title.into(),
                ..course()
            };
            assert_eq!(fields(c.validate(TODAY)), ["course.title"], "{title:?}");
        }
        let c = Course {
            title: "t".repeat(MAX_NAME_LEN + 1),
            ..course()
        };
        assert_eq!(fields(c.validate(TODAY)), ["course.title"]);
        let c = Course {
            title: "t".repeat(MAX_NAME_LEN),
            ..course()
        };
        assert_eq!(c.validate(TODAY), Ok(()));
        let c = Course {
            evidence: "e".repeat(MAX_TEXT_LEN + 1),
            ..course()
        };
        assert_eq!(fields(c.validate(TODAY)), ["course.evidence"]);
    }

    #[test]
    fn course_amount_must_be_positive() {
        for amount in [0, -1, -250, i64::MIN] {
            let c = Course {
                amount: Credits(amount),
                ..course()
            };
            let errors = c.validate(TODAY).unwrap_err();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field, "course.credits_hundredths");
            assert_eq!(
                errors[0].message,
                "course.credits_hundredths must be above 0"
            );
        }
    }

    #[test]
    fn course_amount_is_bounded_in_contact_hours() {
        // 20 CEU is 200 hours, the maximum; 20.01 CEU is over it.
        let max = Course {
            amount: Credits::whole(20),
            unit: Unit::Ceu,
            ..course()
        };
        assert_eq!(max.hours(), MAX_COURSE_HOURS);
        assert_eq!(max.validate(TODAY), Ok(()));
        let over = Course {
            amount: Credits(2001),
            unit: Unit::Ceu,
            ..course()
        };
        let errors = over.validate(TODAY).unwrap_err();
        assert_eq!(errors[0].field, "course.credits_hundredths");
        assert_eq!(
            errors[0].message,
            "course.credits_hundredths: 20.01 ceu is 200.1 contact hours, above the maximum of 200 per course"
        );
        // Absurd amounts must fail, not overflow (or, in release builds, wrap to a small
        // negative number of hours that would pass).
        for unit in Unit::ALL {
            let huge = Course {
                amount: Credits(i64::MAX),
                unit,
                ..course()
            };
            assert_eq!(
                fields(huge.validate(TODAY)),
                ["course.credits_hundredths"],
                "{unit:?}"
            );
        }
    }

    #[test]
    fn course_date_is_not_in_the_future() {
        let today = Course {
            completed_on: TODAY,
            ..course()
        };
        assert_eq!(today.validate(TODAY), Ok(()));
        let tomorrow = Course {
            completed_on: date(2026, 11, 25),
            ..course()
        };
        let errors = tomorrow.validate(TODAY).unwrap_err();
        assert_eq!(errors[0].field, "course.completed_on");
        assert_eq!(
            errors[0].message,
            "course.completed_on (2026-11-25) is in the future (today is 2026-11-24)"
        );
        let ancient = Course {
            completed_on: date(1949, 12, 31),
            ..course()
        };
        assert_eq!(fields(ancient.validate(TODAY)), ["course.completed_on"]);
    }

    #[test]
    fn course_categories() {
        let many = Course {
            categories: (0..17).map(|i| format!("c{i}")).collect(),
            ..course()
        };
        assert_eq!(fields(many.validate(TODAY)), ["course.categories"]);
        let sixteen = Course {
            categories: (0..16).map(|i| format!("c{i}")).collect(),
            ..course()
        };
        assert_eq!(sixteen.validate(TODAY), Ok(()));
        for bad in [String::new(), " ".into(), "c".repeat(65)] {
            let c = Course {
                categories: vec!["safety".into(), bad.clone(), "".into()],
                ..course()
            };
            assert_eq!(fields(c.validate(TODAY)), ["course.categories"], "{bad:?}");
        }
    }

    #[test]
    fn every_course_error_is_reported_at_once() {
        let c = Course {
            title: String::new(),
            amount: Credits::ZERO,
            completed_on: date(2027, 1, 1),
            ..course()
        };
        assert_eq!(
            fields(c.validate(TODAY)),
            [
                "course.title",
                "course.credits_hundredths",
                "course.completed_on"
            ]
        );
    }

    #[test]
    fn categories_normalise_to_trimmed_lowercase() {
        assert_eq!(normalize_category("  Safety "), "safety");
        assert_eq!(normalize_category("ÉTHIQUE"), "éthique");
        assert_eq!(normalize_category(""), "");
    }

    fn webhook(target: &str) -> Channel {
        Channel {
            id: 1,
            holder_id: 1,
            kind: ChannelKind::Webhook,
            target: target.into(),
            secret: "whsec".into(),
            team_id: 0,
        }
    }

    #[test]
    fn webhooks_are_http_urls_with_a_host() {
        for good in [
            "https://hooks.example.org/recert?x=1",
            "http://127.0.0.1:8080/hook",
            "http://localhost:8080",
            "https://hooks.example.org.:443/a@b",
            "http://[::1]:9/hook",
            "https://[2001:db8::1]/",
            "https://h\u{f6}oks.example.org/x#frag",
            "http://host:/empty-port-is-the-default",
        ] {
            assert_eq!(webhook(good).validate(), Ok(()), "{good}");
        }
        let too_long = format!("https://example.org/{}", "a".repeat(2000));
        for bad in [
            "",
            "hooks.example.org/recert",
            "ftp://example.org/",
            "mailto:a@example.org",
            "HTTPS://example.org/",
            "https://",
            "https:///path",
            "https://exa mple.org/",
            "https://example.org/a b",
            "https://example.org/\u{7}",
            "https://example..org/",
            "https://.example.org/",
            "https://example.org:99999/",
            "https://example.org:8o/",
            "https://example.org:80:80/",
            "https://[::1/",
            "https://[::1]x/",
            "https://[zz::1]/",
            "https://ex%41mple.org/",
            &too_long,
        ] {
            let errors = webhook(bad).validate().unwrap_err();
            assert_eq!(errors.len(), 1, "{bad:?}: {errors:?}");
            assert_eq!(errors[0].field, "channel.target", "{bad:?}");
            assert_eq!(
                errors[0].message,
                format!("channel.target {bad:?} is not an http(s) URL")
            );
        }
    }

    #[test]
    fn webhooks_refuse_user_names_and_passwords() {
        for bad in [
            "https://user:pass@hooks.example.org/recert",
            "https://user@hooks.example.org/",
            "http://:pw@127.0.0.1:8080/",
            "https://evil.example\\@hooks.example.org/",
        ] {
            let errors = webhook(bad).validate().unwrap_err();
            assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
            assert_eq!(errors[0].field, "channel.target", "{bad}");
            assert!(
                errors[0].message.contains("user name or password")
                    && errors[0].message.contains("secret"),
                "{bad}: {}",
                errors[0].message
            );
        }
    }

    #[test]
    fn channel_secrets() {
        let long = Channel {
            secret: "s".repeat(MAX_SECRET_BYTES + 1),
            ..webhook("https://example.org/")
        };
        assert_eq!(
            long.validate(),
            Err(vec![FieldError::new(
                "channel.secret",
                "channel.secret must be at most 512 bytes"
            )])
        );
        let at_limit = Channel {
            secret: "s".repeat(MAX_SECRET_BYTES),
            ..webhook("https://example.org/")
        };
        assert_eq!(at_limit.validate(), Ok(()));
        let email = Channel {
            kind: ChannelKind::Email,
            ..webhook("ana@example.org")
        };
        assert_eq!(
            email.validate(),
            Err(vec![FieldError::new(
                "channel.secret",
                "channel.secret applies to webhooks only"
            )])
        );
        let email = Channel {
            secret: String::new(),
            ..email
        };
        assert_eq!(email.validate(), Ok(()));
    }

    #[test]
    fn every_channel_error_is_reported_at_once() {
        let c = Channel {
            kind: ChannelKind::Email,
            ..webhook("not an address")
        };
        assert_eq!(fields(c.validate()), ["channel.target", "channel.secret"]);
        assert_eq!(
            c.validate().unwrap_err()[0].message,
            "channel.target \"not an address\" is not an e-mail address"
        );
    }

    fn thresholds(t: &[u32]) -> AlertSettings {
        AlertSettings {
            thresholds: Some(t.to_vec()),
            muted: false,
        }
    }

    #[test]
    fn thresholds_are_few_and_within_a_year() {
        assert_eq!(AlertSettings::default().validate(), Ok(()));
        assert_eq!(thresholds(&[]).validate(), Ok(()));
        assert_eq!(thresholds(&[1, 365]).validate(), Ok(()));
        assert_eq!(thresholds(&[30; 12]).validate(), Ok(()));
        for bad in [&[0][..], &[366], &[30, 0, 7]] {
            assert_eq!(
                thresholds(bad).validate(),
                Err(vec![FieldError::new(
                    "alert_settings.thresholds",
                    "alert_settings.thresholds must each be between 1 and 365 days"
                )]),
                "{bad:?}"
            );
        }
        // Counted as given: repeats count too.
        assert_eq!(
            thresholds(&[30; 13]).validate(),
            Err(vec![FieldError::new(
                "alert_settings.thresholds",
                "alert_settings.thresholds may hold at most 12 values"
            )])
        );
        assert_eq!(
            fields(thresholds(&[0; 13]).validate()),
            ["alert_settings.thresholds", "alert_settings.thresholds"]
        );
    }

    #[test]
    fn thresholds_are_stored_farthest_first_without_repeats() {
        assert_eq!(
            thresholds(&[7, 30, 7, 90]).normalized().thresholds,
            Some(vec![90, 30, 7])
        );
        assert_eq!(thresholds(&[]).normalized().thresholds, None);
        assert_eq!(
            AlertSettings::default().normalized(),
            AlertSettings::default()
        );
        let muted = AlertSettings {
            muted: true,
            ..thresholds(&[14])
        };
        assert_eq!(muted.clone().normalized(), muted);
    }

    #[test]
    fn dates_are_plain_iso_days() {
        assert_eq!(parse_date("as_of", " 2026-02-28 "), Ok(date(2026, 2, 28)));
        for (value, message) in [
            ("", "as_of is required (YYYY-MM-DD)"),
            ("  ", "as_of is required (YYYY-MM-DD)"),
            (
                "2026-02-30",
                "as_of \"2026-02-30\" is not a valid date (YYYY-MM-DD)",
            ),
            (
                "2026-2-3",
                "as_of \"2026-2-3\" is not a valid date (YYYY-MM-DD)",
            ),
            (
                "+002026-01-01",
                "as_of \"+002026-01-01\" is not a valid date (YYYY-MM-DD)",
            ),
            (
                "tomorrow",
                "as_of \"tomorrow\" is not a valid date (YYYY-MM-DD)",
            ),
        ] {
            assert_eq!(
                parse_date("as_of", value),
                Err(FieldError::new("as_of", message)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn ids_name_their_kind() {
        assert_eq!(parse_id(IdKind::Credential, "id", " cr12 "), Ok(12));
        assert_eq!(
            parse_id(IdKind::Credential, "id", ""),
            Err(FieldError::new("id", "id is required"))
        );
        for value in ["h1", "cr01", "cr", "12"] {
            assert_eq!(
                parse_id(IdKind::Credential, "id", value),
                Err(FieldError::new(
                    "id",
                    format!("id {value:?} is not a credential id (like cr1)")
                )),
                "{value:?}"
            );
        }
    }
}
