//! Who a user is: sign-in identifiers, the Qiao ID, profile fields, region
//! and language. Each type is valid by construction.

use crate::Error;
use sha2::{Digest, Sha256};

/// A phone number in E.164 form: `+` then 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and dashes as separators and strips them.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let compact = Self::compact(raw);
        let digits = compact.strip_prefix('+').ok_or(Error::InvalidPhone)?;
        let ok =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if ok {
            Ok(Self(compact))
        } else {
            Err(Error::InvalidPhone)
        }
    }

    /// A number being registered by someone of `region`: written as they
    /// would at home (`138 0013 8000` in China, `(555) 123-4567` in the
    /// US, with `00` or `+` for a number abroad), and held to its country's
    /// plan where Qiao knows it (China: 11-digit mobiles starting 13-19, or
    /// landlines of 10-11 digits with the area code, Beijing's 10 among
    /// them; North America: 10
    /// digits, the area code not starting 0 or 1). Lookups and sign-in use
    /// [`Phone::parse`], so numbers registered before these rules still work.
    pub fn parse_new(raw: &str, region: Region) -> Result<Self, Error> {
        let compact = Self::compact(raw);
        let international = if let Some(rest) = compact.strip_prefix("00") {
            format!("+{rest}")
        } else if compact.starts_with('+') {
            compact
        } else {
            match region {
                // A leading 0 is China's trunk prefix for landlines.
                Region::Cn => format!("+86{}", compact.strip_prefix('0').unwrap_or(&compact)),
                Region::Us => match compact.strip_prefix('1') {
                    Some(rest) if compact.len() == 11 => format!("+1{rest}"),
                    _ => format!("+1{compact}"),
                },
            }
        };
        let phone = Self::parse(&international)?;
        let fits_plan = if let Some(national) = phone.0.strip_prefix("+86") {
            match national.as_bytes() {
                // Beijing's area code 10, then an 8-digit number.
                [b'1', b'0', ..] => national.len() == 10,
                [b'1', second, ..] => national.len() == 11 && (b'3'..=b'9').contains(second),
                _ => (10..=11).contains(&national.len()),
            }
        } else if let Some(national) = phone.0.strip_prefix("+1") {
            national.len() == 10 && !national.starts_with(['0', '1'])
        } else {
            true
        };
        if fits_plan {
            Ok(phone)
        } else {
            Err(Error::InvalidPhone)
        }
    }

    /// People write numbers with spaces, dashes, dots and brackets; one
    /// number has one form, so limits counted per number can't be dodged.
    fn compact(raw: &str) -> String {
        raw.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-case hex SHA-256 of the E.164 string: what contact discovery compares.
    pub fn discovery_hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// An email address, lower-cased. Deliberately loose: one `@`, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(Error::InvalidEmail)?;
        let ok = email.len() <= Self::MAX_LEN
            && !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(email))
        } else {
            Err(Error::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed, before hashing. 8 to 128 characters.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let n = raw.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The handle a user picks once: 6 to 20 characters, starting with a letter,
/// then letters, digits, `_` or `-`. Compared case-insensitively (stored lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QiaoId(String);

impl QiaoId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let id = raw.trim().to_ascii_lowercase();
        let mut chars = id.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if first_ok && rest_ok && (6..=20).contains(&id.len()) {
            Ok(Self(id))
        } else {
            Err(Error::InvalidQiaoId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person signs in or is found with: a phone number (`+…`), an email
/// address (`…@…`) or a Qiao ID, each in its one normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Phone(Phone),
    Email(Email),
    QiaoId(QiaoId),
}

impl Identifier {
    /// `None` for text that is none of the three.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.starts_with('+') {
            Phone::parse(raw).ok().map(Identifier::Phone)
        } else if raw.contains('@') {
            Email::parse(raw).ok().map(Identifier::Email)
        } else {
            QiaoId::parse(raw).ok().map(Identifier::QiaoId)
        }
    }

    /// One text per identifier, tagged by kind: what per-account limits count.
    pub fn key(&self) -> String {
        match self {
            Identifier::Phone(p) => format!("phone:{}", p.as_str()),
            Identifier::Email(e) => format!("email:{}", e.as_str()),
            Identifier::QiaoId(q) => format!("qiao_id:{}", q.as_str()),
        }
    }
}

/// A display name or other short human text: trimmed, non-empty, no control
/// characters, at most `max` characters.
pub fn parse_short_text(raw: &str, max: usize, err: Error) -> Result<String, Error> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        Err(err)
    } else {
        Ok(text.to_owned())
    }
}

/// Short free text (group name, greeting, remark): trimmed; empty or with
/// control characters is `InvalidRequest`, past `max` characters `TooLong`.
pub fn parse_text(raw: &str, max: usize) -> Result<String, Error> {
    let text = raw.trim();
    if text.is_empty() || text.chars().any(char::is_control) {
        Err(Error::InvalidRequest)
    } else if text.chars().count() > max {
        Err(Error::TooLong)
    } else {
        Ok(text.to_owned())
    }
}

/// Whether text may be stored and shown as multi-line user text: line breaks
/// and tabs yes, other control characters (NUL, escape sequences, …) no.
/// PostgreSQL can't store NUL at all, and none of them belong in a chat.
pub fn is_sendable(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A profile display name, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        parse_short_text(raw, Self::MAX_CHARS, Error::InvalidDisplayName).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an account is registered; decides which funding methods it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Cn,
    Us,
}

impl Region {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "CN" => Ok(Region::Cn),
            "US" => Ok(Region::Us),
            _ => Err(Error::InvalidRegion),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Region::Cn => "CN",
            Region::Us => "US",
        }
    }

    /// The currency a wallet registered here holds.
    pub fn currency(self) -> crate::money::Currency {
        match self {
            Region::Cn => crate::money::Currency::Cny,
            Region::Us => crate::money::Currency::Usd,
        }
    }
}

/// The languages every user-facing text exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    ZhCn,
    #[default]
    EnUs,
}

impl Language {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "zh-CN" => Ok(Language::ZhCn),
            "en-US" => Ok(Language::EnUs),
            _ => Err(Error::InvalidLanguage),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::EnUs => "en-US",
        }
    }

    /// Picks the first supported language of an `Accept-Language` header;
    /// any `zh*` range means Simplified Chinese. Defaults to en-US.
    pub fn from_accept_language(header: &str) -> Self {
        for part in header.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Language::ZhCn;
            }
            if tag.starts_with("en") {
                return Language::EnUs;
            }
        }
        Language::EnUs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_has_one_form_however_it_is_written() {
        let forms = [
            "+15550000001",
            "+1 555 000 0001",
            "+1-555-000-0001",
            "+1 (555) 000.0001",
            "\u{a0}+1\u{a0}555\u{2009}0000001",
        ];
        for form in forms {
            assert_eq!(
                Phone::parse(form).map(|p| p.as_str().to_owned()),
                Ok("+15550000001".to_owned()),
                "{form:?}"
            );
            assert_eq!(
                Identifier::parse(form).map(|i| i.key()),
                Some("phone:+15550000001".to_owned()),
                "{form:?}"
            );
        }
        assert_eq!(
            Identifier::parse(" Lin@Example.COM ").map(|i| i.key()),
            Some("email:lin@example.com".to_owned())
        );
        assert_eq!(
            Identifier::parse("Lin_Boston").map(|i| i.key()),
            Some("qiao_id:lin_boston".to_owned())
        );
        assert_eq!(Identifier::parse("+1 555 abc"), None);
        assert_eq!(Identifier::parse("x"), None);
    }

    #[test]
    fn phone_rules() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").map(|p| p.0),
            Ok("+8613800138000".into())
        );
        assert!(Phone::parse("13800138000").is_err());
        assert!(Phone::parse("+1234").is_err());
        assert!(Phone::parse("+1234567890123456").is_err());
        assert!(Phone::parse("+0123456789").is_err());
        assert!(Phone::parse("+1555abc4567").is_err());
    }

    #[test]
    fn new_numbers_are_read_as_their_owner_writes_them_and_held_to_the_plan() {
        let new = |raw, region| Phone::parse_new(raw, region).map(|p| p.0);
        assert_eq!(new("138 0013 8000", Region::Cn), Ok("+8613800138000".into()));
        assert_eq!(new("010-1234-5678", Region::Cn), Ok("+861012345678".into()));
        assert_eq!(new("+1 (555) 123-4567", Region::Cn), Ok("+15551234567".into()));
        assert_eq!(new("(555) 123-4567", Region::Us), Ok("+15551234567".into()));
        assert_eq!(new("1 555 123 4567", Region::Us), Ok("+15551234567".into()));
        assert_eq!(new("0086 138 0013 8000", Region::Us), Ok("+8613800138000".into()));
        assert_eq!(new("+44 20 7946 0958", Region::Us), Ok("+442079460958".into()));
        for (bad, region) in [
            ("+8612345678", Region::Cn),
            ("+86 128 0013 8000", Region::Cn),
            ("+86 138 0013 800", Region::Cn),
            ("+86 10 1234", Region::Cn),
            ("+1 055 123 4567", Region::Us),
            ("+1 555 123 456", Region::Us),
            ("555 123 45678", Region::Us),
            ("138-abc", Region::Cn),
        ] {
            assert_eq!(new(bad, region), Err(Error::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn discovery_hash_is_sha256_hex_of_e164() {
        let phone = Phone::parse("+15551234567").expect("valid");
        assert_eq!(phone.discovery_hash().len(), 64);
        assert_eq!(
            phone.discovery_hash(),
            Phone::parse("+1 555 123 4567").expect("valid").discovery_hash()
        );
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            Email::parse(" Lin@Example.COM ").map(|e| e.0),
            Ok("lin@example.com".into())
        );
        for bad in [
            "",
            "lin",
            "lin@",
            "@x.com",
            "lin@x",
            "a@b@c.com",
            "l in@x.com",
            "lin@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qiao_id_rules() {
        assert_eq!(QiaoId::parse("Lin_2026").map(|q| q.0), Ok("lin_2026".into()));
        for bad in ["lin", "1linlin", "lin lin", "linlinlinlinlinlinlinl", "林林林林林林"] {
            assert!(QiaoId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_and_names() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse("林 Lin").is_ok());
        assert!(DisplayName::parse("a\u{0007}").is_err());
        assert!(DisplayName::parse(&"字".repeat(65)).is_err());
    }

    #[test]
    fn accept_language() {
        assert_eq!(Language::from_accept_language("zh-CN,zh;q=0.9"), Language::ZhCn);
        assert_eq!(Language::from_accept_language("en-US,en;q=0.9"), Language::EnUs);
        assert_eq!(Language::from_accept_language("fr-FR, zh;q=0.5"), Language::ZhCn);
        assert_eq!(Language::from_accept_language(""), Language::EnUs);
    }
}
