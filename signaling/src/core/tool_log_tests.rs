//! Deterministic tests of `tool_record` in the session core (issue 7): file
//! access, transfers and system information, recorded by a customer about a
//! CSR (the harness is the one of `tests.rs`).

use std::time::Duration;

use tandem_wire::channels::remote_files::Capped;
use tandem_wire::channels::system_info::{DisplayInfo, InfoText, MemoryInfo, SystemReport};
use tandem_wire::{
    ClientMessage, ConsentOutcome, ErrorCode, ItemName, ParticipantId, ServerMessage, ToolRecord,
    TransferDirection, TransferOutcome,
};

use super::tests::{Harness, agent, error_code, error_of, name, reports, sent_to};
use super::*;

const HOSTILE_HOST: &str = "<img src=x onerror=alert(1)>";

fn tool(with: ParticipantId, record: ToolRecord) -> Request {
    Request::ToolRecord { with, record }
}

fn access(outcome: ConsentOutcome) -> ToolRecord {
    ToolRecord::FileAccess { outcome }
}

fn transfer(
    direction: TransferDirection,
    item: &str,
    files: u32,
    bytes: u64,
    outcome: TransferOutcome,
) -> ToolRecord {
    ToolRecord::Transfer { direction, item: ItemName::parse(item).unwrap(), files, bytes, outcome }
}

/// A system report as a native peer sends it, with host name `host`.
fn system_report(host: &str) -> SystemReport {
    let text = |s: &str| Some(InfoText::parse(s).expect("a valid info text"));
    SystemReport {
        collected_at: 1_700_000_000_000,
        host_name: text(host),
        os_name: text("Debian GNU/Linux"),
        os_version: None,
        kernel_version: None,
        architecture: text("x86_64"),
        uptime_seconds: Some(3_600),
        cpu: None,
        memory: MemoryInfo { total_bytes: 8 << 30, available_bytes: 4 << 30, ..MemoryInfo::default() },
        disks: Capped::default(),
        displays: Capped::new(vec![DisplayInfo {
            width: 1920,
            height: 1080,
            width_mm: None,
            height_mm: None,
        }])
        .expect("one display is within the cap"),
        interfaces: Capped::default(),
    }
}

fn system_info(outcome: ConsentOutcome, report: Option<SystemReport>) -> ToolRecord {
    ToolRecord::SystemInfo { outcome, report: report.map(Box::new) }
}

/// The tool records among the outputs.
fn records(out: &[Output]) -> Vec<&ToolLogEntry> {
    reports(out)
        .into_iter()
        .filter_map(|r| match r {
            ReportEvent::ToolRecorded { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tool_record_from_the_wire_becomes_a_request_and_a_report_needs_a_yes() {
    let with = ParticipantId::from_raw(9);
    let record = transfer(TransferDirection::Upload, "a.txt", 1, 3, TransferOutcome::Completed);
    let msg = ClientMessage::ToolRecord { with, record: record.clone() };
    match Request::from_client(msg, |_| None) {
        Ok(Some(Request::ToolRecord { with: w, record: r })) => assert_eq!((w, r), (with, record)),
        other => panic!("expected a tool record, got {other:?}"),
    }
    let allowed = system_info(ConsentOutcome::Allowed, Some(system_report("pc")));
    assert!(matches!(
        Request::from_client(ClientMessage::ToolRecord { with, record: allowed }, |_| None),
        Ok(Some(Request::ToolRecord { .. }))
    ));
    // A report with any other outcome was sent without the customer's yes: not stored.
    for outcome in [ConsentOutcome::Denied, ConsentOutcome::TimedOut, ConsentOutcome::Revoked] {
        let record = system_info(outcome, Some(system_report("pc")));
        let r = Request::from_client(ClientMessage::ToolRecord { with, record }, |_| None);
        assert_eq!(r.err(), Some(ErrorCode::BadMessage), "{outcome:?}");
    }
    let denied = system_info(ConsentOutcome::Denied, None);
    assert!(Request::from_client(ClientMessage::ToolRecord { with, record: denied }, |_| None).is_ok());
}

#[test]
fn tool_records_are_kept_in_order_with_both_names_and_server_time() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let started = h.now;

    let out = h.req(2, tool(c.csr, access(ConsentOutcome::Allowed)));
    let expected = ToolLogEntry {
        seq: 0,
        at: started,
        from: ann,
        from_name: name("Ann"),
        with: c.csr,
        with_name: name("Carla CSR"),
        record: access(ConsentOutcome::Allowed),
    };
    assert_eq!(records(&out), vec![&expected]);
    assert!(out.iter().all(|o| matches!(o, Output::Report(_))), "no reply to anyone: {out:?}");
    assert_eq!(
        expected.text(),
        "Carla CSR asked for advanced file transfer on Ann's computer: allowed by Ann"
    );

    h.now = h.now.after(Duration::from_secs(3));
    let download =
        transfer(TransferDirection::Download, "report.pdf", 1, 52_428_800, TransferOutcome::Completed);
    let out = h.req(2, tool(c.csr, download.clone()));
    let r = records(&out)[0];
    assert_eq!((r.seq, r.at, &r.record), (1, h.now, &download));
    assert_eq!(r.transfer(), Some((TransferDirection::Download, TransferOutcome::Completed, 52_428_800)));
    assert_eq!(
        r.text(),
        "Download of “report.pdf” from Ann's computer by Carla CSR (1 file, 52428800 bytes): completed"
    );

    let upload = transfer(TransferDirection::Upload, "Photos", 12, 0, TransferOutcome::Denied);
    let r = records(&h.req(2, tool(c.csr, upload))).pop().unwrap().clone();
    assert_eq!(r.seq, 2);
    assert_eq!(
        r.text(),
        "Upload of “Photos” to Ann's computer by Carla CSR (12 files, 0 bytes): denied by Ann"
    );

    let info = system_info(ConsentOutcome::Allowed, Some(system_report(HOSTILE_HOST)));
    let r = records(&h.req(2, tool(c.csr, info.clone()))).pop().unwrap().clone();
    assert_eq!((r.seq, &r.record, r.transfer()), (3, &info, None));
    assert_eq!(
        r.text(),
        "Carla CSR asked for system information about Ann's computer: allowed by Ann, report received"
    );
    let r =
        records(&h.req(2, tool(c.csr, system_info(ConsentOutcome::TimedOut, None)))).pop().unwrap().clone();
    assert_eq!(
        r.text(),
        "Carla CSR asked for system information about Ann's computer: no answer from Ann within 30 s (denied)"
    );
    let r = records(&h.req(2, tool(c.csr, access(ConsentOutcome::Revoked)))).pop().unwrap().clone();
    assert_eq!(r.text(), "Carla CSR asked for advanced file transfer on Ann's computer: revoked by Ann");
    assert_eq!(r.seq, 5);
}

#[test]
fn only_a_customer_records_and_only_about_a_csr_of_the_session() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let (bob, _) = h.join_invited(3, &c, "Bob");
    let wendy = h.join_lobby(4, c.number, "Wendy");
    let other = h.create(5);
    let allowed = |with| tool(with, access(ConsentOutcome::Allowed));

    let out = h.req(9, allowed(c.csr));
    assert_eq!((error_code(&out, ConnId(9)), records(&out).len()), (Some(ErrorCode::NotInSession), 0));
    let out = h.req(4, allowed(c.csr));
    assert_eq!((error_code(&out, ConnId(4)), records(&out).len()), (Some(ErrorCode::NotAllowed), 0), "lobby");
    // The CSR: tools run on the customer's machine, which records them.
    let out = h.req(1, allowed(ann));
    let (code, message, in_reply_to) = error_of(&out, 1);
    assert_eq!(
        (code, in_reply_to.as_deref(), records(&out).len()),
        (ErrorCode::NotAllowed, Some("tool_record"), 0)
    );
    assert!(message.contains("Only a customer"), "{message}");
    for (with, why) in [
        (ann, "the sender itself"),
        (bob, "another customer"),
        (wendy, "someone waiting in the lobby"),
        (other.csr, "the CSR of another session"),
        (ParticipantId::from_raw(0x5eed), "nobody"),
    ] {
        let out = h.req(2, allowed(with));
        assert_eq!(records(&out).len(), 0, "{why}");
        let (code, _, in_reply_to) = error_of(&out, 2);
        assert_eq!(
            (code, in_reply_to.as_deref()),
            (ErrorCode::UnknownParticipant, Some("tool_record")),
            "{why}"
        );
    }
    // A secondary customer records too; refusals used up no sequence numbers.
    let out = h.req(3, allowed(c.csr));
    assert_eq!((records(&out)[0].seq, records(&out)[0].from), (0, bob));
}

#[test]
fn a_record_about_a_csr_who_left_still_names_them_but_not_about_a_customer() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let out = h.req(3, Request::Assist { agent: agent(2, "Ana Assist"), session_number: c.number });
    let ana = sent_to(&out, ConnId(3))
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::Joined { participant_id, .. } => Some(*participant_id),
            _ => None,
        })
        .expect("the assistant joined");
    let (bob, _) = h.join_invited(4, &c, "Bob");
    h.req(3, Request::Leave);
    h.req(4, Request::Leave);

    // The transfer with the assistant ended when she left: recorded after.
    let out =
        h.req(2, tool(ana, transfer(TransferDirection::Upload, "fix.sh", 1, 10, TransferOutcome::Cancelled)));
    let r = records(&out)[0];
    assert_eq!((r.from, r.with, r.with_name.as_str()), (ann, ana, "Ana Assist"));
    let out = h.req(2, tool(bob, access(ConsentOutcome::Gone)));
    assert_eq!(error_of(&out, 2).0, ErrorCode::UnknownParticipant, "Bob was a customer");
}

#[test]
fn a_session_holds_at_most_1000_tool_records_and_20_system_reports() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    let report = || tool(c.csr, system_info(ConsentOutcome::Allowed, Some(system_report("pc"))));
    for i in 0..MAX_SYSTEM_REPORTS {
        assert_eq!(records(&h.req(2, report()))[0].seq, i);
    }
    let out = h.req(2, report());
    assert_eq!(records(&out).len(), 0, "the 21st report is not stored");
    let (code, message, in_reply_to) = error_of(&out, 2);
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("tool_record")));
    assert!(message.contains("system information reports (20)"), "{message}");
    // Without a report, a system information record still counts as a record only.
    let out = h.req(2, tool(c.csr, system_info(ConsentOutcome::Denied, None)));
    assert_eq!(records(&out)[0].seq, MAX_SYSTEM_REPORTS);

    let step = transfer(TransferDirection::Download, "log.txt", 1, 1_000, TransferOutcome::Completed);
    for i in MAX_SYSTEM_REPORTS + 1..MAX_TOOL_RECORDS {
        assert_eq!(records(&h.req(2, tool(c.csr, step.clone())))[0].seq, i);
    }
    let out = h.req(2, tool(c.csr, step.clone()));
    assert_eq!(records(&out).len(), 0, "the 1001st is not stored");
    let (code, message, _) = error_of(&out, 2);
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("tool records (1000)"), "{message}");
    // Another session has its own log.
    let d = h.create(5);
    h.join_invited(6, &d, "Zoe");
    assert_eq!(records(&h.req(6, tool(d.csr, step)))[0].seq, 0);
}
