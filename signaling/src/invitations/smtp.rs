//! The SMTP [`Mailer`]: lettre's async transport over tokio, TLS by rustls
//! with the ring provider (webpki roots), configured by ops in `[smtp]`.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::{Mail, MailError, Mailer};
use crate::config::{SmtpConfig, SmtpSecurity};

/// How long one SMTP conversation may take before the invitation fails.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Sends through one configured relay; connections are pooled by lettre.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `config` (already validated). Connects lazily: a relay
    /// that is down shows up as failed invitations, not as a failed start.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let from: Mailbox = config.from.parse().map_err(|e| MailError::Build(format!("smtp.from: {e}")))?;
        let host = config.host.trim();
        let builder = match config.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailError::Build(e.to_string()))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| MailError::Build(e.to_string()))?,
        };
        let mut builder = builder.port(config.port()).timeout(Some(TIMEOUT));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: builder.build(), from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        match tokio::time::timeout(TIMEOUT + Duration::from_secs(5), self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MailError::Relay(e.to_string())),
            Err(_) => Err(MailError::Timeout),
        }
    }
}

/// The MIME message: UTF-8 plain text, base64 so that long links are never
/// wrapped and every relay carries it (no 8BITMIME needed).
fn build_message(from: &Mailbox, mail: Mail) -> Result<Message, MailError> {
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::Base64)
        .body(mail.body);
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, mail.to.address().clone()))
        .subject(mail.subject)
        .header(ContentLanguage(mail.language))
        .singlepart(body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// `Content-Language` ([RFC 3282](https://www.rfc-editor.org/rfc/rfc3282)): one of our fixed tags.
#[derive(Clone)]
struct ContentLanguage(&'static str);

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("not parsed: {s}").into())
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitations::EmailAddress;

    #[test]
    fn message_has_our_headers_only() {
        let from: Mailbox = "Support <support@example.com>".parse().unwrap();
        let mail = Mail {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            subject: "Votre session d’assistance 571 700 568".into(),
            body: "Bonjour,\nhttps://support.example.com/join/571700568#invite=abc\n".into(),
            language: "fr",
        };
        let raw = String::from_utf8(build_message(&from, mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("To: ann@example.com\r\n"), "{raw}");
        assert!(raw.contains("From: Support <support@example.com>\r\n"), "{raw}");
        assert!(raw.contains("Content-Language: fr\r\n"), "{raw}");
        assert!(raw.contains("Content-Transfer-Encoding: base64\r\n"), "{raw}");
        assert!(raw.contains("Subject: Votre session =?utf-8?b?"), "a non-ASCII subject is encoded: {raw}");
    }
}
