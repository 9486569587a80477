//! coturn accepts the configuration `tandem-signaling turn coturn-config`
//! generates, and then honours it: the REST credentials the server mints
//! allocate, an expired one does not, denied peers get 403 while an allowed
//! peer receives. Skipped (with a message) when `turnserver` is not installed.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tandem_turn_config::CredentialMinter;
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn as _;

const BIN: &str = env!("CARGO_BIN_EXE_tandem-signaling");
const SECRET: &str = "coturn-test-secret-0123456789";
const REALM: &str = "tandem.test";

struct Coturn(Child);

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

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
    // coturn is in scripts/debian-packages/turn.txt: a missing one is a failure, not a silent pass.
    let turnserver =
        which("turnserver").expect("turnserver (coturn) must be installed: scripts/test.sh installs it");
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let min = 40_000 + (port % 20) * 1000;
    let settings = format!(
        "[turn]\nsecret = \"{SECRET}\"\nrealm = \"{REALM}\"\nudp_urls = [\"turn:127.0.0.1:{port}\"]\n\
         listening_port = {port}\ntls_listening_port = {}\nmin_port = {min}\nmax_port = {}\n\
         allow_loopback_peers = true\ndenied_peers = [\"127.0.0.2/32\"]\nuser_quota = 2\n",
        free_udp_port(),
        min + 999
    );
    std::fs::write(dir.path().join("tandem.toml"), settings).unwrap();
    let out = Command::new(BIN)
        .args(["--config", dir.path().join("tandem.toml").to_str().unwrap(), "turn", "coturn-config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut conf = String::from_utf8(out.stdout).unwrap();
    assert!(conf.contains("use-auth-secret") && conf.contains("denied-peer-ip=10.0.0.0-10.255.255.255"));
    // Loopback only, for the test.
    conf.push_str("listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\n");
    let conf_path = dir.path().join("turnserver.conf");
    std::fs::write(&conf_path, conf).unwrap();

    let mut child = Command::new(turnserver)
        .args(["-c", conf_path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
    }
    let _coturn = Coturn(child);
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let minter = CredentialMinter::new(SECRET, Duration::from_secs(600));

    // Wait until coturn answers, with a credential as the signaling server mints it.
    let cred = minter.mint("00000000000000aa", SystemTime::now());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let (_client, relay) = loop {
        match allocate(server, &cred.username, &cred.password).await {
            Ok(ok) => break ok,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("coturn never allocated: {e}\n{}", log.lock().unwrap().join("\n")),
        }
    };
    let bad: Vec<String> =
        log.lock().unwrap().iter().filter(|l| l.contains("Bad configuration format")).cloned().collect();
    assert!(
        bad.iter().all(|l| l.contains("prometheus")),
        "coturn refused generated lines (only `prometheus` may be unsupported by this build): {bad:?}"
    );

    // An allowed peer receives; denied peers are refused.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay.send_to(b"via coturn", peer.local_addr().unwrap()).await.unwrap();
    let mut buf = [0u8; 100];
    let (n, _) =
        tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"via coturn");
    let denied = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    assert!(relay.send_to(b"probe", denied.local_addr().unwrap()).await.is_err(), "127.0.0.2 is denied");
    assert!(relay.send_to(b"probe", "10.1.2.3:9".parse().unwrap()).await.is_err(), "10/8 is denied");
    assert!(
        relay.send_to(b"probe", "169.254.169.254:80".parse().unwrap()).await.is_err(),
        "link-local is denied"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), denied.recv_from(&mut buf)).await.is_err(),
        "nothing reached 127.0.0.2"
    );

    // An expired credential and a wrong secret are refused.
    let expired = minter.mint("00000000000000bb", SystemTime::now() - Duration::from_secs(3600));
    assert!(allocate(server, &expired.username, &expired.password).await.is_err(), "expired");
    let forged = CredentialMinter::new("another-secret-entirely", Duration::from_secs(600))
        .mint("00000000000000cc", SystemTime::now());
    assert!(allocate(server, &forged.username, &forged.password).await.is_err(), "wrong secret");
    // user-quota=2: a second allocation with the same credential works, a third does not.
    let _second = allocate(server, &cred.username, &cred.password).await.expect("second allocation");
    assert!(allocate(server, &cred.username, &cred.password).await.is_err(), "user quota of 2");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .ok_or(())
}
