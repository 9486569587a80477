//! The peer's end of the signaling protocol: where to connect, how to enter a
//! session (join link or number, or as a CSR), and one WebSocket to the server.

use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use tandem_wire::{AuthToken, ClientMessage, InviteToken, ServerMessage, SessionNumber};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::PeerError;

/// A session to enter, as given on the command line: a join link, or a number.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinTarget {
    /// The server's base URL (`http://host:port`), when the link named it.
    pub server: Option<String>,
    pub number: SessionNumber,
    pub invite: Option<InviteToken>,
}

impl JoinTarget {
    /// Parses `123 456 789`, `123456789` or a join link
    /// `https://host/join/123456789#invite=TOKEN`.
    pub fn parse(s: &str) -> Result<Self, PeerError> {
        let s = s.trim();
        if let Ok(number) = s.parse::<SessionNumber>() {
            return Ok(Self { server: None, number, invite: None });
        }
        let bad = || PeerError::Input(format!("{s:?} is neither a 9-digit session number nor a join link"));
        let (base, rest) = s.split_once("/join/").ok_or_else(bad)?;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(bad());
        }
        let (number, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let number = number.trim_end_matches('/').parse::<SessionNumber>().map_err(|_| bad())?;
        let invite = match fragment.strip_prefix("invite=") {
            Some(t) => {
                Some(InviteToken::parse(t).map_err(|e| PeerError::Input(format!("invite token: {e}")))?)
            }
            None => None,
        };
        Ok(Self { server: Some(base.to_owned()), number, invite })
    }
}

/// How this peer enters its session.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A customer: by number (lobby) or with the invite token (admitted directly).
    Customer { target: JoinTarget, name: tandem_wire::DisplayName },
    /// A signed-in CSR starting a session.
    CreateSession { token: AuthToken },
    /// A signed-in CSR assisting in a running session.
    Assist { token: AuthToken, number: SessionNumber },
}

impl Entry {
    /// The first message that enters the session.
    pub fn request(&self) -> ClientMessage {
        match self {
            Self::Customer { target, name } => ClientMessage::Join {
                session_number: target.number,
                name: name.clone(),
                invite_token: target.invite.clone(),
            },
            Self::CreateSession { token } => {
                ClientMessage::CreateSession { token: token.clone(), session_type: None, tracking_code: None }
            }
            Self::Assist { token, number } => {
                ClientMessage::Assist { token: token.clone(), session_number: *number }
            }
        }
    }
}

/// Signs a CSR in over HTTP(S), trusting the public web roots, and returns the token for the WebSocket.
pub async fn sign_in(server: &str, name: &str, password: &str) -> Result<AuthToken, PeerError> {
    sign_in_trusting(server, name, password, crate::tls::default_client_config()).await
}

/// [`sign_in`] with the given TLS trust (e.g. a private CA, see [`crate::tls::client_config`]).
pub async fn sign_in_trusting(
    server: &str,
    name: &str,
    password: &str,
    tls: Arc<ClientConfig>,
) -> Result<AuthToken, PeerError> {
    let url = format!("{}/api/v1/signin", server.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .map_err(|e| PeerError::Input(format!("HTTP client: {e}")))?;
    let response = client
        .post(&url)
        .json(&serde_json::json!({"name": name, "password": password}))
        .send()
        .await
        .map_err(|e| PeerError::Unreachable { url: server.to_owned(), reason: e.to_string() })?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| PeerError::Protocol(e.to_string()))?;
    if !status.is_success() {
        let message = body["message"].as_str().unwrap_or("unknown error").to_owned();
        return Err(PeerError::SignIn(message));
    }
    let token =
        body["token"].as_str().ok_or_else(|| PeerError::Protocol("sign-in reply has no token".into()))?;
    AuthToken::parse(token).map_err(|e| PeerError::Protocol(format!("token: {e}")))
}

/// One WebSocket to the signaling server.
pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The organisation that runs the site, as its `hello` said.
    organisation: Option<String>,
}

impl Connection {
    /// Connects to `server` (`http://host:port` or `https://…`, trusting `tls`) and reads its `hello`.
    pub async fn open(server: &str, tls: Arc<ClientConfig>) -> Result<Self, PeerError> {
        let base = server.trim_end_matches('/');
        let ws_url = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}/ws")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}/ws")
        } else {
            return Err(PeerError::Input(format!(
                "server URL {server:?} must start with http:// or https://"
            )));
        };
        let connector = tokio_tungstenite::Connector::Rustls(tls);
        let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(&ws_url, None, true, Some(connector))
            .await
            .map_err(|e| PeerError::Unreachable { url: server.to_owned(), reason: e.to_string() })?;
        let mut conn = Self { ws, organisation: None };
        match conn.recv().await? {
            ServerMessage::Hello { protocol, organisation, .. }
                if protocol == tandem_wire::PROTOCOL_VERSION =>
            {
                conn.organisation = organisation.map(|o| o.as_str().to_owned());
                Ok(conn)
            }
            ServerMessage::Hello { protocol, .. } => {
                Err(PeerError::Protocol(format!("server speaks protocol v{protocol}, this peer v1")))
            }
            other => Err(PeerError::Protocol(format!("expected hello, got {other:?}"))),
        }
    }

    /// The organisation that runs the site (its CSRs work for it), when the operator named it.
    pub fn organisation(&self) -> Option<&str> {
        self.organisation.as_deref()
    }

    /// Sends one message.
    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), PeerError> {
        self.ws
            .send(Message::Text(tandem_wire::encode(msg).into()))
            .await
            .map_err(|_| PeerError::ConnectionLost)
    }

    /// The next message from the server (control frames are answered by the WebSocket layer).
    pub async fn recv(&mut self) -> Result<ServerMessage, PeerError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return tandem_wire::decode(text.as_str())
                        .map_err(|e| PeerError::Protocol(e.to_string()));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(PeerError::ConnectionLost),
                Some(Ok(_)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_join_links() {
        let t = JoinTarget::parse("123 456 789").unwrap();
        assert_eq!((t.number.get(), t.server, t.invite), (123_456_789, None, None));
        let t = JoinTarget::parse("https://help.example.com/join/123456789#invite=AbCdEfGhIjKlMnOpQrStUv")
            .unwrap();
        assert_eq!(t.server.as_deref(), Some("https://help.example.com"));
        assert_eq!(t.number.get(), 123_456_789);
        assert_eq!(t.invite.unwrap().as_str(), "AbCdEfGhIjKlMnOpQrStUv");
        for bad in
            ["12345", "ftp://x/join/123456789", "https://x/join/12", "https://x/join/123456789#invite=a b"]
        {
            assert!(JoinTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
