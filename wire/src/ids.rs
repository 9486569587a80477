//! Typed identifiers: session numbers, session ids and participant ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The 9-digit number a customer types to join a session (SES-1).
///
/// Always in `100000000..=999999999`, so it has 9 digits without a leading
/// zero. [`fmt::Display`] shows it grouped as `123 456 789`; on the wire it is
/// the string `"123456789"`. Parsing accepts spaces and dashes between digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ts_rs::TS)]
#[ts(type = "string")]
pub struct SessionNumber(u32);

/// Why a string is not a session number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session number has exactly 9 digits (for example 123 456 789)")]
pub struct SessionNumberError;

impl SessionNumber {
    /// Smallest valid number.
    pub const MIN: u32 = 100_000_000;
    /// Largest valid number.
    pub const MAX: u32 = 999_999_999;

    /// Wraps `n` if it has exactly 9 digits.
    pub fn new(n: u32) -> Result<Self, SessionNumberError> {
        if (Self::MIN..=Self::MAX).contains(&n) { Ok(Self(n)) } else { Err(SessionNumberError) }
    }

    /// The number as an integer.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The plain 9-digit form used on the wire and in links.
    pub fn to_digits(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for SessionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        write!(f, "{:03} {:03} {:03}", n / 1_000_000, n / 1_000 % 1_000, n % 1_000)
    }
}

impl fmt::Debug for SessionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionNumber({self})")
    }
}

impl FromStr for SessionNumber {
    type Err = SessionNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 32 {
            return Err(SessionNumberError);
        }
        let mut digits = 0usize;
        let mut n: u32 = 0;
        for c in s.trim().chars() {
            match c {
                '0'..='9' => {
                    digits += 1;
                    if digits > 9 {
                        return Err(SessionNumberError);
                    }
                    n = n * 10 + (c as u32 - '0' as u32);
                }
                ' ' | '-' => {}
                _ => return Err(SessionNumberError),
            }
        }
        if digits != 9 {
            return Err(SessionNumberError);
        }
        Self::new(n)
    }
}

impl Serialize for SessionNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SessionNumber;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a 9-digit session number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SessionNumber, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SessionNumber, E> {
                u32::try_from(v)
                    .map_err(|_| SessionNumberError)
                    .and_then(SessionNumber::new)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Defines a fixed-width lowercase-hex identifier type.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $int:ty, $width:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ts_rs::TS)]
        #[ts(type = "string")]
        pub struct $name($int);

        impl $name {
            /// Wraps a raw value (the server draws it from its random source).
            pub fn from_raw(raw: $int) -> Self {
                Self(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$x}", self.0, width = $width)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = &'static str;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let ok = s.len() == $width && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !ok {
                    return Err(concat!("a ", stringify!($name), " is ", $width, " lowercase hex digits"));
                }
                <$int>::from_str_radix(s, 16).map(Self).map_err(|_| "not hex")
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// A participant of a session: stable for the whole session, also across a
    /// reconnection (resume). 16 lowercase hex digits on the wire.
    ParticipantId,
    u64,
    16
);

hex_id!(
    /// A session's permanent identity, unique forever (session numbers are
    /// reused once a session has ended); it keys the session's report.
    /// 32 lowercase hex digits on the wire.
    SessionId,
    u128,
    32
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_number_display_and_parse() {
        let n = SessionNumber::new(123_456_789).unwrap();
        assert_eq!(n.to_string(), "123 456 789");
        assert_eq!(SessionNumber::new(100_000_001).unwrap().to_string(), "100 000 001");
        assert_eq!("123 456 789".parse::<SessionNumber>(), Ok(n));
        assert_eq!("123-456-789".parse::<SessionNumber>(), Ok(n));
        assert_eq!(" 123456789 ".parse::<SessionNumber>(), Ok(n));
        for bad in ["", "12345678", "1234567890", "023456789", "12345678a", "１２３４５６７８９"] {
            assert!(bad.parse::<SessionNumber>().is_err(), "{bad:?} must be refused");
        }
        assert!(SessionNumber::new(99_999_999).is_err());
        assert!(SessionNumber::new(1_000_000_000).is_err());
    }

    #[test]
    fn session_number_serde() {
        let n: SessionNumber = serde_json::from_str("\"123 456 789\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"123456789\"");
        let m: SessionNumber = serde_json::from_str("123456789").unwrap();
        assert_eq!(m, n);
        assert!(serde_json::from_str::<SessionNumber>("-1").is_err());
        assert!(serde_json::from_str::<SessionNumber>("1.5").is_err());
    }

    #[test]
    fn hex_ids_round_trip_and_refuse_garbage() {
        let p = ParticipantId::from_raw(0xdead_beef);
        assert_eq!(p.to_string(), "00000000deadbeef");
        assert_eq!(p.to_string().parse::<ParticipantId>(), Ok(p));
        for bad in ["", "DEADBEEF00000000", "00000000deadbeeg", "00000000deadbeef0", "+0000000deadbeef"] {
            assert!(bad.parse::<ParticipantId>().is_err(), "{bad:?} must be refused");
        }
        let s = SessionId::from_raw(u128::MAX);
        assert_eq!(s.to_string().len(), 32);
        assert_eq!(s.to_string().parse::<SessionId>(), Ok(s));
    }
}
