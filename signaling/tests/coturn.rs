//! coturn accepts the configuration `tandem-signaling turn coturn-config`
//! generates, and then works with it: the REST credentials the server mints
//! allocate with a real TURN client (webrtc-rs `turn`) and an allowed peer
//! receives. What coturn must refuse with that configuration (special-purpose
//! peers, bad credentials, the quota) is in `relay_abuse.rs`, beside the
//! embedded relay. A missing `turnserver` is a failure (CI installs coturn).

mod turn_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tandem_turn_config::CredentialMinter;
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use turn_common::{Coturn, CoturnSetup};
use webrtc_util::Conn as _;

const SECRET: &str = "coturn-test-secret-0123456789";
const REALM: &str = "tandem.test";

async fn allocate(
    server: SocketAddr,
    username: &str,
    password: &str,
) -> Result<(Client, impl webrtc_util::Conn), turn::Error> {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let c = Client::new(ClientConfig {
        stun_serv_addr: String::new(),
        turn_serv_addr: server.to_string(),
        username: username.into(),
        password: password.into(),
        realm: REALM.into(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await?;
    c.listen().await?;
    let relay = tokio::time::timeout(Duration::from_secs(5), c.allocate())
        .await
        .map_err(|_| turn::Error::Other("allocate timed out".into()))??;
    Ok((c, relay))
}

#[tokio::test]
async fn coturn_runs_the_generated_configuration() {
    // Loopback only, for the test.
    let coturn = Coturn::start(CoturnSetup {
        secret: SECRET,
        realm: REALM,
        ips: &["127.0.0.1".parse().unwrap()],
        turn_settings: "allow_loopback_peers = true\n",
        deny_peers: true,
    })
    .await;
    let minter = CredentialMinter::new(SECRET, Duration::from_secs(600));
    let cred = minter.mint("00000000000000aa", SystemTime::now());
    let (_client, relay) = allocate(coturn.addr, &cred.username, &cred.password)
        .await
        .unwrap_or_else(|e| panic!("coturn did not allocate: {e}\n{}", coturn.log()));
    let bad = coturn.refused_lines();
    assert!(
        bad.iter().all(|l| l.contains("prometheus")),
        "coturn refused generated lines (only `prometheus` may be unsupported by this build): {bad:?}"
    );

    // An allowed peer receives from the relayed address, and its answer comes back.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay.send_to(b"via coturn", peer.local_addr().unwrap()).await.unwrap();
    let mut buf = [0u8; 100];
    let (n, from) =
        tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"via coturn"[..], relay.local_addr().unwrap()));
    peer.send_to(b"and back", from).await.unwrap();
    let (n, from) =
        tokio::time::timeout(Duration::from_secs(5), relay.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"and back"[..], peer.local_addr().unwrap()));
}
