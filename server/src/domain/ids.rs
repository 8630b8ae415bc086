//! How record ids look to users: a short prefix and a number (`h1`, `cr12`, `co40`).

/// The kinds of record that have numeric ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A holder: `h1`.
    Holder,
    /// A credential: `cr1`.
    Credential,
    /// A course: `co1`.
    Course,
    /// An alert: `al1`.
    Alert,
    /// A delivery channel: `ch1`.
    Channel,
}

impl IdKind {
    /// The prefix of this kind's ids.
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Holder => "h",
            IdKind::Credential => "cr",
            IdKind::Course => "co",
            IdKind::Alert => "al",
            IdKind::Channel => "ch",
        }
    }

    /// The record kind's name, for messages.
    pub const fn noun(self) -> &'static str {
        match self {
            IdKind::Holder => "holder",
            IdKind::Credential => "credential",
            IdKind::Course => "course",
            IdKind::Alert => "alert",
            IdKind::Channel => "channel",
        }
    }

    /// Formats an id: `IdKind::Course.format(4)` is `co4`.
    pub fn format(self, id: u64) -> String {
        format!("{}{id}", self.prefix())
    }

    /// Parses an id of this kind; `None` if it is not one.
    pub fn parse(self, s: &str) -> Option<u64> {
        let digits = s.trim().strip_prefix(self.prefix())?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        digits.parse().ok()
    }
}
