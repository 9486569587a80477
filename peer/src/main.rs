//! `tandem-peer`: join a Tandem session from the desktop.
//!
//! It joins (as a customer, or as a CSR creating or assisting a session),
//! connects to every other participant over WebRTC, sends what the media
//! options choose (screen, camera, voice; nothing by default) and carries
//! chat: lines typed on standard input go to everyone; messages received are
//! printed.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tandem_peer::PeerError;
use tandem_peer::link::LinkConfig;
use tandem_peer::media_setup::{MediaArgs, MediaSetup};
use tandem_peer::session::{self, Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in_trusting};
use tandem_wire::{CandidateType, DisplayName};
use tokio::sync::mpsc;

/// Tandem native peer.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Join a session as a customer, by session number or join link.
    Join {
        /// `123 456 789` or `https://site/join/123456789#invite=…`.
        session: String,
        /// The name the support agent sees.
        #[arg(long)]
        name: String,
        /// The Tandem site (taken from the join link when one is given).
        #[arg(long, env = "TANDEM_SERVER")]
        server: Option<String>,
        #[command(flatten)]
        media: MediaArgs,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Sign in as a CSR and start a session, or assist in one.
    Csr {
        /// The Tandem site, e.g. https://help.example.com.
        #[arg(long, env = "TANDEM_SERVER")]
        server: String,
        /// Your CSR account name.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Assist in this running session instead of starting one.
        #[arg(long)]
        assist: Option<String>,
        #[command(flatten)]
        media: MediaArgs,
        #[command(flatten)]
        net: NetArgs,
    },
}

/// How the peer reaches the other participants.
#[derive(clap::Args)]
struct NetArgs {
    /// A PEM file of certificate authorities to trust besides the public web
    /// roots, for the server (HTTPS) and the TURN relay (`turns:`): an
    /// operator's private CA.
    #[arg(long, value_name = "PEM", env = "TANDEM_CA")]
    ca: Option<std::path::PathBuf>,
    /// Use only relayed paths (TURN), never direct ones.
    #[arg(long)]
    relay_only: bool,
    /// Send SCTP packets (data channels) of this many bytes, 576 to 16384, instead of
    /// 1191: only where every path between the peers carries UDP datagrams of this
    /// size plus 37 bytes, such as a jumbo-frame LAN. Loopback-only links choose 16384.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(576..=16384))]
    sctp_mtu: Option<u32>,
    /// The managed machine's consent policy (capabilities denied outright);
    /// default /etc/tandem/peer-policy.toml when it exists, otherwise ask for everything.
    #[arg(long, value_name = "TOML")]
    policy: Option<std::path::PathBuf>,
    /// Let the people this machine allows control it inject mouse and
    /// keyboard input on this X display (needs DISPLAY). Without it, control
    /// requests can be allowed but input is dropped.
    #[arg(long)]
    accept_control: bool,
    /// A folder a CSR may browse with advanced file transfer, once you allow it
    /// (repeat for several, at most 16). Default: your home folder.
    #[arg(long, value_name = "DIR")]
    files_root: Vec<std::path::PathBuf>,
    /// The most bytes one file transfer may move (default 16 GiB).
    #[arg(long, value_name = "BYTES")]
    max_transfer_bytes: Option<u64>,
}

impl NetArgs {
    fn tls_roots(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, PeerError> {
        use rustls_pki_types::pem::PemObject;
        match &self.ca {
            None => Ok(Vec::new()),
            Some(path) => rustls_pki_types::CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| PeerError::Input(format!("--ca {}: {e}", path.display()))),
        }
    }

    fn link_config(&self, udp_addrs: Vec<String>) -> Result<LinkConfig, PeerError> {
        Ok(LinkConfig {
            udp_addrs,
            ice_timeouts: None,
            relay_only: self.relay_only,
            tls_roots: self.tls_roots()?,
            sctp_mtu: self.sctp_mtu,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), PeerError> {
    let (server, entry, media, net) = match cli.command {
        Cmd::Join { session, name, server, media, net } => {
            let target = JoinTarget::parse(&session)?;
            let server = target.server.clone().or(server).ok_or_else(|| {
                PeerError::Input("give --server, or a join link that names the site".into())
            })?;
            let name = DisplayName::parse(name).map_err(|e| PeerError::Input(format!("--name: {e}")))?;
            (server, Entry::Customer { target, name }, media, net)
        }
        Cmd::Csr { server, name, password_stdin, assist, media, net } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| PeerError::Input(format!("reading the password: {e}")))?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                return Err(PeerError::Input(
                    "use --password-stdin (interactive sign-in comes with the window)".into(),
                ));
            };
            let tls = tandem_peer::tls::client_config(&net.tls_roots()?)?;
            let token = sign_in_trusting(&server, &name, &password, tls).await?;
            let entry = match assist {
                Some(number) => Entry::Assist {
                    token,
                    number: number.parse().map_err(|e| PeerError::Input(format!("--assist: {e}")))?,
                },
                None => Entry::CreateSession { token },
            };
            (server, entry, media, net)
        }
    };
    let link_config = net.link_config(media.bind.clone())?;
    let policy =
        tandem_peer::ui::policy::load(net.policy.as_deref()).map_err(|e| PeerError::Input(e.to_string()))?;
    let input = if net.accept_control {
        let display = std::env::var("DISPLAY").ok();
        Some(session::InputTarget {
            injector: tandem_peer::control::x11::X11Injector::start(display.clone())?,
            surface: tandem_peer::control::x11::desktop_surface(display.as_deref())?,
        })
    } else {
        None
    };
    let controls = session::Controls { policy, input, ..Default::default() };
    let mut files = session::FilesConfig::default();
    if !net.files_root.is_empty() {
        files.roots = net.files_root.clone();
    }
    if let Some(max) = net.max_transfer_bytes {
        files.max_transfer_bytes = max;
    }
    // Devices are opened before joining, so that a missing camera is reported up front.
    let setup = MediaSetup::start(&media)?;
    for warning in &setup.warnings {
        eprintln!("warning: {warning}");
    }

    let (command_tx, command_rx) = mpsc::channel(16);
    let (event_tx, mut event_rx) = mpsc::channel(64);
    let (mut desk, no_window) = tandem_peer::consent_desk::ConsentDesk::start(command_tx.clone());
    if let Some(why) = no_window {
        eprintln!("warning: {why}; every consent request will be denied");
    }
    // Standard input is blocking: read it on its own thread, one chat line or `/command` per line.
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            match tandem_peer::console::parse(&line) {
                tandem_peer::console::Typed::Session(command) => {
                    if command_tx.blocking_send(command).is_err() {
                        break;
                    }
                }
                tandem_peer::console::Typed::Say(text) => println!("{text}"),
                tandem_peer::console::Typed::Nothing => {}
            }
        }
        let _ = command_tx.blocking_send(Command::Leave);
    });
    let printer = tokio::spawn(async move {
        while let Some(event) = event_rx.recv().await {
            print_event(&event);
            desk.on_event(&event).await;
        }
    });
    let session_setup = session::Setup { link: link_config, media: setup.media(), controls, files };
    let result = session::run(&server, entry, session_setup, command_rx, event_tx).await;
    drop(setup);
    let _ = printer.await;
    match result? {
        Some(reason) => {
            println!("session ended ({})", reason.as_str());
            Ok(())
        }
        None => {
            println!("left the session");
            Ok(())
        }
    }
}

fn print_event(event: &Event) {
    match event {
        Event::Lobby => println!("waiting for the support agent to let you in..."),
        Event::Joined { session, role, invite, .. } => {
            println!("in session {} as {}", session.display_number, role.as_str());
            if let Some((_, link)) = invite {
                println!("invite link: {link}");
            }
        }
        Event::Participants(list) => {
            let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
            println!("participants: {}", names.join(", "));
        }
        Event::Connected(id) => println!("connected to {id}"),
        Event::ConnectionFailed(id) => println!("connection to {id} failed; trying again"),
        Event::Path { with, path } => {
            let how = if path.local == CandidateType::Relay || path.remote == CandidateType::Relay {
                "through the relay"
            } else {
                "directly"
            };
            println!(
                "path to {with}: {how} ({}/{}, {})",
                path.local.as_str(),
                path.remote.as_str(),
                path.protocol.as_str()
            );
        }
        Event::ChatReady(id) => println!("chat with {id} is open"),
        Event::ControlReady(_) => {}
        Event::Chat { from, text, private } => {
            println!("{}{from}: {text}", if *private { "(private) " } else { "" });
        }
        Event::ConsentPrompt { name, capability, .. } => {
            println!("{name} asks for {}: answer in the Tandem window", capability.as_str());
        }
        Event::ConfirmOffer { name, capability, .. } => {
            println!("offering {name} {}: confirm in the Tandem window", capability.as_str());
        }
        Event::ConsentPromptClosed { .. } => {}
        Event::Consent { with, capability, outcome, .. } => {
            println!("consent: {} with {with}: {}", capability.as_str(), outcome.as_str());
        }
        Event::FilesPrompt { name, ask, .. } => match ask {
            session::FilesAsk::Open { roots } => {
                println!("{name} asks for advanced file transfer in {}", roots.join(", "))
            }
            session::FilesAsk::SystemInfo => println!("{name} asks for this computer's system information"),
            session::FilesAsk::Transfer(summary) => {
                let way = match summary.direction {
                    session::Direction::Download => "copy from this computer",
                    session::Direction::Upload => "copy to this computer",
                };
                println!(
                    "{name} asks to {way}: \"{}\" ({} files, {} bytes){}",
                    summary.item,
                    summary.files,
                    summary.bytes,
                    if summary.overwrite { ", replacing existing files" } else { "" }
                );
            }
        },
        Event::FilesOpened { with, roots, max_transfer_bytes } => {
            let labels: Vec<&str> = roots.iter().map(|r| r.label.as_str()).collect();
            println!(
                "file transfer with {with} open: {} (up to {max_transfer_bytes} bytes each)",
                labels.join(", ")
            );
        }
        Event::FilesClosed { with, code } => println!("file transfer with {with} closed ({code:?})"),
        Event::FilesListing { with, entries, .. } => {
            for e in entries {
                println!("{with}: {:?} {} {} bytes", e.kind, e.name.as_str(), e.size);
            }
        }
        Event::FilesListFailed { with, code, .. } => println!("listing at {with} failed ({code:?})"),
        Event::FilesAccess { with, open: true } => println!("{with} may now browse and transfer your files"),
        Event::FilesAccess { with, open: false } => println!("file transfer with {with} ended"),
        Event::HostTransfer { with, id, summary } => {
            let way = match summary.direction {
                session::Direction::Download => "to",
                session::Direction::Upload => "from",
            };
            println!(
                "transfer {}: copying \"{}\" {way} {with} ({} bytes)",
                id.0, summary.item, summary.bytes
            );
        }
        Event::TransferProgress { with, id, progress } => {
            println!(
                "transfer {} with {with}: {} of {} bytes",
                id.0, progress.confirmed_bytes, progress.total_bytes
            );
        }
        Event::TransferFile { id, path, sha256, .. } => {
            println!("transfer {}: {} in place, SHA-256 {}", id.0, path.as_str(), sha256.as_str());
        }
        Event::TransferFinished { with, id, progress } => {
            println!("transfer {} with {with} complete ({} bytes)", id.0, progress.total_bytes);
        }
        Event::TransferFailed { with, id, code } => {
            println!("transfer {} with {with} failed ({code:?})", id.0)
        }
        Event::SystemInfo { from, report } => {
            // Text only: every value is printed as the plain string it is.
            println!("system information of {from}:");
            match serde_json::to_string_pretty(report) {
                Ok(text) => println!("{text}"),
                Err(e) => println!("(cannot show it: {e})"),
            }
        }
        Event::SystemInfoRefused { from, reason } => {
            println!("{from} sent no system information ({reason:?})")
        }
        Event::Refused { code, request } => {
            println!(
                "refused{}: {}",
                request.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                code.message()
            );
        }
    }
}
