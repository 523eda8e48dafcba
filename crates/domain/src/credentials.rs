use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use email_address::EmailAddress;

use crate::ValidationError;

/// A login name: 3–50 characters of ASCII letters, digits, `_`, `.` and `-`, starting with a
/// letter or digit, compared case-insensitively (stored lower-case).
///
/// ASCII only on purpose: Unicode look-alikes (Cyrillic `а` for Latin `a`) would let one person
/// pose as another in the admin's approval list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 50;

    pub fn parse(value: &str) -> Result<Username, ValidationError> {
        let invalid = |message: &str| ValidationError::new("username", "INVALID_USERNAME", message);
        let len = value.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(invalid("username must be 3 to 50 characters long"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(invalid(
                "username may contain only letters a-z, digits, '_', '.' and '-'",
            ));
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid("username must start with a letter or digit"));
        }
        Ok(Username(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address as RFC 5322 allows it (parsed by the `email_address` crate), at most 254
/// characters (RFC 5321's path limit), with a domain part that contains a dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(value: &str) -> Result<Email, ValidationError> {
        let invalid =
            || ValidationError::new("email", "INVALID_EMAIL", "not a valid e-mail address");
        if value.len() > Self::MAX_CHARS {
            return Err(invalid());
        }
        let address =
            EmailAddress::parse_with_options(value, Default::default()).map_err(|_| invalid())?;
        // `user@localhost` is valid RFC 5322 but never a deliverable address for a person.
        if !address.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Email(address.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the platform's rules. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Long enough for any passphrase; short enough that hashing cost stays bounded.
    pub const MAX_CHARS: usize = 256;

    /// Checks a password chosen by `username`. Rules follow NIST SP 800-63B §5.1.1.2: a
    /// minimum length, no composition rules, refuse values known to be common or derived
    /// from the account name.
    pub fn parse_new(value: &str, username: &Username) -> Result<Password, ValidationError> {
        let refuse =
            |code: &'static str, message: &str| ValidationError::new("password", code, message);
        let len = value.chars().count();
        if len < Self::MIN_CHARS {
            return Err(refuse(
                "PASSWORD_TOO_SHORT",
                "password must be at least 10 characters long",
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(refuse(
                "PASSWORD_TOO_LONG",
                "password must be at most 256 characters long",
            ));
        }
        let lowered = value.to_lowercase();
        if COMMON_PASSWORDS.contains(lowered.as_str()) {
            return Err(refuse(
                "PASSWORD_TOO_COMMON",
                "this password is in a list of commonly used passwords; choose another",
            ));
        }
        if lowered.contains(username.as_str()) {
            return Err(refuse(
                "PASSWORD_CONTAINS_USERNAME",
                "password must not contain the username",
            ));
        }
        Ok(Password(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn usernames_are_normalised_to_lower_case() {
        assert_eq!(user("Dr.Wang_01").as_str(), "dr.wang_01");
    }

    #[test]
    fn username_length_bounds_are_inclusive() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(50)).is_ok());
        assert!(Username::parse(&"a".repeat(51)).is_err());
    }

    #[test]
    fn usernames_refuse_injection_and_look_alikes() {
        for bad in [
            "a' OR 1=1 --",
            "аdmin",
            "王医生",
            "_lead",
            "a b c",
            "x\u{0}yz",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.code, "INVALID_USERNAME", "{bad}");
        }
    }

    #[test]
    fn emails_need_a_real_domain() {
        assert_eq!(
            Email::parse("li.na@hospital.example.cn").unwrap().as_str(),
            "li.na@hospital.example.cn"
        );
        for bad in ["", "nobody", "a@b", "@x.cn", "a@@x.cn", "a b@x.cn"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@x.cn", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn passwords_need_ten_characters_counted_as_characters() {
        let u = user("patient1");
        assert_eq!(
            Password::parse_new("短密码九个字符而已", &u)
                .unwrap_err()
                .code,
            "PASSWORD_TOO_SHORT"
        );
        assert!(Password::parse_new("十个汉字组成的长密码啊", &u).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let u = user("patient1");
        for common in ["password123", "QWERTYUIOP", "1234567890"] {
            assert_eq!(
                Password::parse_new(common, &u).unwrap_err().code,
                "PASSWORD_TOO_COMMON",
                "{common}"
            );
        }
        assert!(COMMON_PASSWORDS.len() >= 10_000);
    }

    #[test]
    fn passwords_may_not_contain_the_username() {
        let u = user("zhangwei");
        assert_eq!(
            Password::parse_new("ZhangWei-2024!", &u).unwrap_err().code,
            "PASSWORD_CONTAINS_USERNAME"
        );
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse_new("correct horse battery", &user("abc")).unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }
}
