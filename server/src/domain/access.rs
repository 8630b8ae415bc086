//! Who may call: roles, bearer tokens (kept only as a hash of their secret) and teams.

use jiff::Timestamp;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Everything.
    Admin,
    /// The holders of the teams their holder leads, and that holder.
    Supervisor,
    /// Their own holder's records only.
    Holder,
}

impl Role {
    /// The role's name on the wire and in the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Holder => "holder",
        }
    }

    /// The role a name means.
    pub fn parse(name: &str) -> Option<Role> {
        match name.trim() {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "holder" => Some(Role::Holder),
            _ => None,
        }
    }
}

/// A SHA-256 digest of a token's secret: what the store keeps instead of the secret.
pub type TokenHash = [u8; 32];

/// A bearer token. The secret is shown once, when it is made; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Store-assigned id (`tk1`).
    pub id: u64,
    /// A name to recognise it by (may be empty).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The holder it acts for: required for supervisors and holders.
    pub holder_id: Option<u64>,
    /// SHA-256 of the secret.
    pub hash: TokenHash,
    /// When it was made.
    pub created_at: Timestamp,
    /// After this it is refused.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked; refused from then on.
    pub revoked_at: Option<Timestamp>,
}

impl Token {
    /// Whether the token is accepted at `now`: not revoked, not expired.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A team of holders; a lead's supervisor token sees every member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Store-assigned id (`tm1`).
    pub id: u64,
    /// Unique name.
    pub name: String,
    /// Holder ids of the members, ascending, without repeats.
    pub members: Vec<u64>,
    /// Holder ids of the leads, ascending, without repeats.
    pub leads: Vec<u64>,
}

/// Formats a token id: `tk4`.
pub fn token_id(id: u64) -> String {
    format!("tk{id}")
}

/// Formats a team id: `tm4`.
pub fn team_id(id: u64) -> String {
    format!("tm{id}")
}

/// Reads `tk4` (or `4`) as a token id.
pub fn parse_token_id(text: &str) -> Option<u64> {
    parse_prefixed(text, "tk")
}

/// Reads `tm4` (or `4`) as a team id.
pub fn parse_team_id(text: &str) -> Option<u64> {
    parse_prefixed(text, "tm")
}

fn parse_prefixed(text: &str, prefix: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.strip_prefix(prefix).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&id| id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_revocation_end_validity() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut token = Token {
            id: 1,
            name: String::new(),
            role: Role::Holder,
            holder_id: Some(1),
            hash: [0; 32],
            created_at: now,
            expires_at: Some("2026-06-02T00:00:00Z".parse().unwrap()),
            revoked_at: None,
        };
        assert!(token.valid_at(now));
        assert!(!token.valid_at("2026-06-02T00:00:00Z".parse().unwrap()));
        token.revoked_at = Some(now);
        assert!(!token.valid_at(now));
    }

    #[test]
    fn ids_parse_with_or_without_prefix() {
        assert_eq!(parse_token_id("tk12"), Some(12));
        assert_eq!(parse_token_id("12"), Some(12));
        assert_eq!(parse_token_id("tm12"), None);
        assert_eq!(parse_team_id("tm3"), Some(3));
        assert_eq!(parse_team_id("tm0"), None);
    }
}
