//! Invitations by e-mail (SES-2): the request's parsed parts, the message in
//! the invitee's language, and the [`Mailer`] that sends it.
//!
//! ```text
//! POST /api/v1/invitations (http.rs) --> hub: is this agent a CSR of the session?
//!     --> compose(kind, language, details) --> Mailer::send (smtp.rs: lettre over SMTP)
//! ```
//!
//! Everything from the request is parsed here first: the address with
//! lettre's [`Address`](lettre::Address) (no CR/LF, no display name, no second
//! address), the language as a closed enum. The mail's headers are built by
//! lettre from these types, so a request cannot add a header.

pub mod smtp;
mod texts;

use serde::Deserialize;

use crate::core::InvitationDetails;

/// Who is invited: a customer (join link) or another CSR (assist by number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    Customer,
    Csr,
}

/// The languages invitation e-mails are written in; anything else gets English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Fr,
    Ro,
    Nl,
    SrLatn,
    Pt,
}

impl Language {
    /// The language for a BCP 47 tag such as `fr`, `fr-CA`, `sr-Latn` or `pt-BR`
    /// (case-insensitive); English when there is no catalog for it.
    pub fn from_tag(tag: &str) -> Self {
        let tag = tag.trim().to_ascii_lowercase();
        let mut parts = tag.split(['-', '_']);
        match (parts.next().unwrap_or(""), parts.next()) {
            ("fr", _) => Self::Fr,
            ("ro", _) => Self::Ro,
            ("nl", _) => Self::Nl,
            // Only the Latin script is written; Cyrillic readers get English rather than the wrong script.
            ("sr", None | Some("latn" | "rs" | "me" | "ba")) => Self::SrLatn,
            ("pt", _) => Self::Pt,
            _ => Self::En,
        }
    }

    /// The tag, as in the web client's catalogs.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::Ro => "ro",
            Self::Nl => "nl",
            Self::SrLatn => "sr-Latn",
            Self::Pt => "pt",
        }
    }
}

/// A recipient address: one plain `local@domain`, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(lettre::Address);

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("an e-mail address has at most 254 characters")]
    TooLong,
    #[error("an e-mail address may not contain line breaks or control characters")]
    ControlCharacter,
    #[error("not an e-mail address: {0}")]
    Invalid(String),
}

impl EmailAddress {
    /// Parses one address (`name@example.com`); display names, lists, comments,
    /// line breaks and other control characters are refused.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let s = s.trim();
        if s.len() > 254 {
            return Err(AddressError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        s.parse::<lettre::Address>().map(Self).map_err(|e| AddressError::Invalid(e.to_string()))
    }

    pub fn address(&self) -> &lettre::Address {
        &self.0
    }
}

/// A composed invitation, ready for a [`Mailer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: EmailAddress,
    pub subject: String,
    /// Plain text, `\n` line breaks.
    pub body: String,
    /// The language tag of the text, for the `Content-Language` header.
    pub language: &'static str,
}

/// Writes the invitation for `kind` in `language`. `csr` is the inviting CSR's name.
pub fn compose(
    to: EmailAddress,
    kind: InvitationKind,
    language: Language,
    details: &InvitationDetails,
    csr: &str,
) -> Mail {
    let t = texts::catalog(language);
    let number = details.session_number.to_string(); // grouped: 123 456 789
    let fill = |s: &str| {
        s.replace("{number}", &number)
            .replace("{link}", &details.invite_link)
            .replace("{site}", &details.site_url)
            .replace("{csr}", csr)
    };
    let (subject, body) = match kind {
        InvitationKind::Customer => (fill(t.customer_subject), fill(t.customer_body)),
        InvitationKind::Csr => (fill(t.csr_subject), fill(t.csr_body)),
    };
    Mail { to, subject, body, language: language.tag() }
}

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    #[error("building the message: {0}")]
    Build(String),
    #[error("the mail relay refused or failed: {0}")]
    Relay(String),
    #[error("the mail relay did not answer in time")]
    Timeout,
}

/// Sends composed mail. SMTP ([`smtp::SmtpMailer`]) is the one backend.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands the mail to the relay; `Ok` once the relay accepted it.
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

#[cfg(test)]
mod tests {
    use tandem_wire::SessionNumber;

    use super::*;

    fn details() -> InvitationDetails {
        InvitationDetails {
            session_number: SessionNumber::new(571_700_568).unwrap(),
            invite_link: "https://support.example.com/join/571700568#invite=4VTM-f9eYgusIGpHx6SdZg".into(),
            site_url: "https://support.example.com".into(),
        }
    }

    fn to() -> EmailAddress {
        EmailAddress::parse("ann@example.com").unwrap()
    }

    #[test]
    fn languages_by_tag_with_english_fallback() {
        for (tag, lang) in [
            ("fr", Language::Fr),
            ("FR-ca", Language::Fr),
            ("ro", Language::Ro),
            ("nl-BE", Language::Nl),
            ("sr-Latn", Language::SrLatn),
            ("sr", Language::SrLatn),
            ("sr-Cyrl", Language::En),
            ("pt-BR", Language::Pt),
            ("de", Language::En),
            ("", Language::En),
            ("x\r\nBcc: a@b", Language::En),
        ] {
            assert_eq!(Language::from_tag(tag), lang, "{tag:?}");
        }
    }

    #[test]
    fn addresses_refuse_injection_and_lists() {
        assert!(EmailAddress::parse(" ann@example.com ").is_ok());
        for bad in [
            "ann@example.com\r\nBcc: eve@evil.example",
            "ann@example.com\nX: y",
            "Ann <ann@example.com>",
            "ann@example.com, eve@evil.example",
            "not-an-address",
            "@example.com",
            "",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(
            EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(AddressError::TooLong)
        );
    }

    #[test]
    fn customer_mail_carries_the_link_in_every_language() {
        for lang in [Language::En, Language::Fr, Language::Ro, Language::Nl, Language::SrLatn, Language::Pt] {
            let m = compose(to(), InvitationKind::Customer, lang, &details(), "Carla");
            assert!(m.body.contains(&details().invite_link), "{lang:?}: {}", m.body);
            assert!(m.body.contains("571 700 568"), "{lang:?}");
            assert!(m.body.contains("Carla"), "{lang:?}");
            assert!(!m.body.contains('{') && !m.subject.contains('{'), "{lang:?}: a placeholder is left");
            assert!(!m.subject.contains(['\r', '\n']));
            assert_eq!(m.language, lang.tag());
        }
        let fr = compose(to(), InvitationKind::Customer, Language::Fr, &details(), "Carla");
        let en = compose(to(), InvitationKind::Customer, Language::En, &details(), "Carla");
        assert_ne!(fr.body, en.body, "French is not English");
        assert!(fr.body.contains("session d’assistance"));
    }

    #[test]
    fn csr_mail_carries_number_and_site_but_no_invite_token() {
        for lang in [Language::En, Language::Fr, Language::Ro, Language::Nl, Language::SrLatn, Language::Pt] {
            let m = compose(to(), InvitationKind::Csr, lang, &details(), "Carla");
            assert!(m.body.contains("571 700 568"), "{lang:?}");
            assert!(m.body.contains("https://support.example.com"), "{lang:?}");
            assert!(
                !m.body.contains("#invite="),
                "{lang:?}: a CSR assists by signing in, not by the customer link"
            );
            assert!(!m.body.contains('{') && !m.subject.contains('{'), "{lang:?}");
        }
    }
}
