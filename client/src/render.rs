//! Output for people (aligned tables, coloured status) and for scripts (pretty JSON).
//!
//! Commands build their text here and return it; `main` writes it to stdout once.

use std::io::IsTerminal;

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, ContentArrangement};
use serde::Serialize;

use crate::credits::Credits;
use crate::model::ComplianceStatus;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Stable JSON for scripts (see client/JSON.md).
    Json,
}

/// The chosen format plus whether colour may be used.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Table or JSON.
    pub format: Format,
    /// Colour status words (only in tables).
    pub color: bool,
}

impl Output {
    /// Colour only when stdout is a terminal and `NO_COLOR` is not set at all, so pipes,
    /// files and scripts never see escape codes.
    pub fn for_stdout(format: Format) -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self { format, color }
    }

    /// Whether JSON was asked for.
    pub fn is_json(self) -> bool {
        self.format == Format::Json
    }

    /// Pretty JSON of a client record, with a final newline.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> String {
        // The client's records contain only strings, numbers, booleans, lists and structs,
        // which always serialize.
        let mut text = serde_json::to_string_pretty(value).expect("client records serialize");
        text.push('\n');
        text
    }

    /// Compact JSON of a client record on one line, for streams of records (NDJSON).
    pub fn json_line<T: Serialize + ?Sized>(self, value: &T) -> String {
        // As in `json`: the client's records always serialize.
        serde_json::to_string(value).expect("client records serialize")
    }

    /// JSON of `value` in JSON mode, otherwise the line (or lines) from `human`.
    pub fn record<T: Serialize + ?Sized>(
        self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> String {
        if self.is_json() {
            self.json(value)
        } else {
            let mut text = human();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
    }
}

/// ANSI colour for a status: green when fine, yellow when it needs attention, red when lapsed.
fn status_color(status: ComplianceStatus) -> Option<&'static str> {
    match status {
        ComplianceStatus::Met | ComplianceStatus::OnTrack => Some("\x1b[32m"),
        ComplianceStatus::AtRisk | ComplianceStatus::InGrace => Some("\x1b[33m"),
        ComplianceStatus::Expired => Some("\x1b[31m"),
        ComplianceStatus::Unknown => None,
    }
}

/// Resets colour.
const RESET: &str = "\x1b[0m";

/// The escape codes this renderer itself writes (status colours and their reset); the only
/// ones [`terminal_safe`] lets through, and only when colour is on.
const OWN_CODES: [&str; 4] = ["\x1b[32m", "\x1b[33m", "\x1b[31m", RESET];

/// `text` made safe for a terminal: every control character but line feed, tab and the CR of
/// a CR LF, and the Unicode controls that reorder or hide text (bidi overrides, zero-width
/// marks), is shown as `\u{..}` instead of being sent, so text from the server can neither
/// move the cursor, set the window title nor clear the screen. With `own_colors`, the
/// renderer's own colour codes pass (table cells are escaped before they are painted, so a
/// server string cannot bring them). Every line the CLI prints for people goes through here;
/// JSON needs nothing (serde escapes control characters).
pub fn terminal_safe(text: &str, own_colors: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if own_colors && let Some(code) = OWN_CODES.iter().find(|code| rest.starts_with(**code)) {
            out.push_str(code);
            rest = &rest[code.len()..];
            continue;
        }
        // CR LF ends a line of a file format (iCalendar, CSV); only a bare CR moves back
        // over what a line showed.
        if hides_text(c) && !(c == '\r' && rest[1..].starts_with('\n')) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Whether `c` would act on the terminal or hide or reorder text instead of showing itself.
fn hides_text(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A table with a header row, borderless like `kubectl get`.
///
/// Rows may carry a status; its word is then the last cell, coloured after layout so escape
/// codes never count toward column widths.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    statuses: Vec<Option<ComplianceStatus>>,
    right_aligned: Vec<usize>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            statuses: Vec::new(),
            right_aligned: Vec::new(),
        }
    }

    /// Right-aligns the numeric columns at these indexes.
    pub fn right_align(mut self, columns: &[usize]) -> Self {
        self.right_aligned = columns.to_vec();
        self
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
        self.statuses.push(None);
    }

    /// Adds a row whose last cell is `status`, coloured when colour is on.
    pub fn status_row(&mut self, mut cells: Vec<String>, status: ComplianceStatus) {
        cells.push(status.label().to_owned());
        self.rows.push(cells);
        self.statuses.push(Some(status));
    }

    /// Lays the table out; one line per row, trailing spaces trimmed.
    pub fn render(&self, color: bool) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(self.headers.iter().map(String::as_str));
        for cells in &self.rows {
            // A newline inside a cell would break the one-row-one-line layout.
            // Cells are escaped before colour is added, so only the painter's codes remain.
            table.add_row(
                cells
                    .iter()
                    .map(|c| terminal_safe(&c.replace(['\n', '\r'], " "), false)),
            );
        }
        // No left padding, two spaces between columns (the last one's are trimmed).
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        for index in &self.right_aligned {
            if let Some(column) = table.column_mut(*index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut text = String::new();
        for (index, line) in table.lines().enumerate() {
            let line = line.trim_end();
            // Line 0 is the header; line i is row i-1.
            let status = index
                .checked_sub(1)
                .and_then(|row| self.statuses.get(row).copied().flatten());
            let painted = match (color, status.and_then(|s| Some((s, status_color(s)?)))) {
                (true, Some((status, code))) => line
                    .strip_suffix(status.label())
                    .map(|head| format!("{head}{code}{}{RESET}", status.label())),
                _ => None,
            };
            text.push_str(painted.as_deref().unwrap_or(line));
            text.push('\n');
        }
        text
    }
}

/// A two-column "Label: value" listing for `show` commands; empty values are skipped.
pub fn details(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (label, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
        let label = format!("{label}:");
        text.push_str(&format!("{label:<w$} {value}\n", w = width + 1));
    }
    text
}

/// "1 point", "2.5 points", "1 CEU", "3 semester hours": an amount and its unit.
pub fn amount(amount: Credits, unit: &str) -> String {
    format!("{amount} {}", unit_for(amount, unit))
}

/// The unit as a word for `amount`: singular for exactly 1, plural otherwise; course unit
/// names (`ceu`, `semester-hour`) read as words.
pub fn unit_for(amount: Credits, unit: &str) -> String {
    let singular = match unit {
        "hours" => "hour",
        "ceu" => "CEU",
        "nha-credit" => "NHA credit",
        "semester-hour" => "semester hour",
        "quarter-hour" => "quarter hour",
        other => other,
    };
    if amount == Credits::from_hundredths(100) || singular.ends_with('s') {
        singular.to_owned()
    } else {
        format!("{singular}s")
    }
}

/// "1 course", "3 courses": a count and a noun that takes an -s.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Joins items with ", ", or "-" when there are none.
pub fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

/// The value, or "-" when absent, for table cells.
pub fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

/// `$50.00` for 5000 cents.
pub fn dollars(cents: u32) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let hostile = "Renew\x1b]0;OWNED\x07\x1b[2J\rAll good\u{202e}";
        let safe = terminal_safe(hostile, true);
        assert!(!safe.chars().any(hides_text), "{safe:?}");
        assert_eq!(
            safe,
            "Renew\\u{1b}]0;OWNED\\u{7}\\u{1b}[2J\\u{d}All good\\u{202e}"
        );
        assert_eq!(terminal_safe("a\tb\nc\r\nd", false), "a\tb\nc\r\nd");
        assert_eq!(terminal_safe("a\rb", false), "a\\u{d}b");
        assert_eq!(
            terminal_safe("\x1b[32mmet\x1b[0m", true),
            "\x1b[32mmet\x1b[0m"
        );
        assert!(!terminal_safe("\x1b[32m", false).contains('\x1b'));
    }

    fn sample() -> Table {
        let mut table = Table::new(&["ID", "DAYS", "STATUS"]).right_align(&[1]);
        table.status_row(vec!["cr1".into(), "5".into()], ComplianceStatus::AtRisk);
        table.status_row(vec!["cr22".into(), "120".into()], ComplianceStatus::Met);
        table
    }

    #[test]
    fn tables_align_without_colour() {
        let text = sample().render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].contains("ID") && lines[0].ends_with("STATUS"),
            "{text}"
        );
        assert!(lines[1].ends_with("at risk"), "{text}");
        assert!(lines[2].ends_with("met"), "{text}");
        // Status words start in the same column.
        assert_eq!(lines[1].find("at risk"), lines[2].find("met"), "{text}");
        // Numbers are right-aligned: the last digit lines up.
        assert_eq!(
            lines[1].find("5 ").map(|i| i + 1),
            lines[2].find("120").map(|i| i + 3)
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_wraps_only_the_status_word() {
        let plain = sample().render(false);
        let colored = sample().render(true);
        assert!(colored.contains("\x1b[33mat risk\x1b[0m"), "{colored:?}");
        assert!(colored.contains("\x1b[32mmet\x1b[0m"), "{colored:?}");
        let stripped = colored
            .replace("\x1b[33m", "")
            .replace("\x1b[32m", "")
            .replace(RESET, "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn units_are_singular_only_for_one() {
        let n = Credits::from_hundredths;
        assert_eq!(amount(n(100), "hours"), "1 hour");
        assert_eq!(amount(n(250), "hours"), "2.5 hours");
        assert_eq!(amount(n(300), "semester-hour"), "3 semester hours");
        assert_eq!(amount(n(100), "ceu"), "1 CEU");
        assert_eq!(amount(n(50), "ceu"), "0.5 CEUs");
        assert_eq!(amount(n(1000), "NHA CE credit"), "10 NHA CE credits");
        assert_eq!(amount(n(900), "point"), "9 points");
        assert_eq!(amount(n(600), "contact hours"), "6 contact hours");
        assert_eq!(count(1, "course"), "1 course");
        assert_eq!(count(0, "credential"), "0 credentials");
    }

    #[test]
    fn details_skip_empty_values() {
        let text = details(&[
            ("Id", "h1".into()),
            ("Email", String::new()),
            ("Time zone", "UTC".into()),
        ]);
        assert_eq!(text, "Id:        h1\nTime zone: UTC\n");
    }
}
