//! The web client's wire types are generated from these Rust definitions
//! (ts-rs). This test fails when `web/types/wire.d.ts` is stale; regenerate it
//! with `TANDEM_UPDATE_WIRE_TS=1 cargo test -p tandem-wire --test typescript`.

use tandem_wire::*;
use ts_rs::TS;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/types/wire.d.ts");

fn generate() -> String {
    // JavaScript numbers hold every u64 value the protocol uses (ping nonces) exactly enough.
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut decls = vec![
        ClientMessage::decl(&cfg),
        ServerMessage::decl(&cfg),
        ChatText::decl(&cfg),
        SessionNumber::decl(&cfg),
        ParticipantId::decl(&cfg),
        SessionId::decl(&cfg),
        DisplayName::decl(&cfg),
        Label::decl(&cfg),
        AuthToken::decl(&cfg),
        InviteToken::decl(&cfg),
        ResumeToken::decl(&cfg),
        Notes::decl(&cfg),
        Sdp::decl(&cfg),
        IceText::decl(&cfg),
        IceCandidate::decl(&cfg),
        IceServer::decl(&cfg),
        Features::decl(&cfg),
        CandidateType::decl(&cfg),
        PathProtocol::decl(&cfg),
        ConsentOutcome::decl(&cfg),
        ToolRecord::decl(&cfg),
        TransferDirection::decl(&cfg),
        TransferOutcome::decl(&cfg),
        ItemName::decl(&cfg),
        SessionInfo::decl(&cfg),
        ParticipantInfo::decl(&cfg),
        Role::decl(&cfg),
        EndReason::decl(&cfg),
        ErrorCode::decl(&cfg),
    ];
    decls.extend(channels::typescript_decls(&cfg));
    let mut out = String::from(
        "// Generated from the Rust definitions in wire/src by wire/tests/typescript.rs. Do not edit.\n\
         // Regenerate: TANDEM_UPDATE_WIRE_TS=1 cargo test -p tandem-wire --test typescript\n\n",
    );
    out.push_str(&format!("/** The protocol version every message carries as `v`. */\nexport const PROTOCOL_VERSION: {PROTOCOL_VERSION};\n"));
    out.push_str(&format!("/** Largest text frame either side accepts, in bytes. */\nexport const MAX_MESSAGE_BYTES: {MAX_MESSAGE_BYTES};\n\n"));
    out.push_str("/** A message as sent on the wire: the message plus `\"v\": 1`. */\nexport type Versioned<T> = T & { v: 1 };\n\n");
    for d in decls {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn web_wire_types_are_current() {
    let fresh = generate();
    if std::env::var_os("TANDEM_UPDATE_WIRE_TS").is_some() {
        std::fs::write(PATH, &fresh).expect("write web/types/wire.d.ts");
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == fresh,
        "web/types/wire.d.ts is stale: run TANDEM_UPDATE_WIRE_TS=1 cargo test -p tandem-wire --test typescript"
    );
}
