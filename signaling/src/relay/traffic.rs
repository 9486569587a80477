//! What the embedded relay relays, for `tandem_turn_relayed_bytes_total` and
//! `tandem_turn_relayed_packets_total`: peer payload, counted where it
//! actually leaves the relay.
//!
//! - client → peer: a relayed socket's `send_to` (the server only calls it
//!   for a peer with a permission or a channel, after the peer filter);
//! - peer → client: the listener's `send_to` of ChannelData or a Data
//!   indication (a peer's datagram without permission is dropped by the
//!   server after the relayed socket received it, so counting there would
//!   count scans of the relayed ports).
//!
//! Bytes are the peer's UDP payload, without TURN framing, in both directions.
//! The [fast path](super::fast_path) counts what it relays itself, the same
//! way, where its `sendmmsg` succeeds.

use stun::attributes::ATTR_DATA;
use stun::message::{CLASS_INDICATION, MAGIC_COOKIE, METHOD_DATA, MessageType};

/// The peer payload length carried by `datagram`, a datagram the relay sends
/// to a client: ChannelData
/// ([RFC 8656 §12.4](https://www.rfc-editor.org/rfc/rfc8656#section-12.4)) or
/// a Data indication ([§11.6](https://www.rfc-editor.org/rfc/rfc8656#section-11.6)).
/// `None` for anything else (responses, malformed frames).
pub fn payload_to_client(datagram: &[u8]) -> Option<usize> {
    let word = |at: usize| -> Option<usize> {
        let b = datagram.get(at..at + 2)?;
        Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    // ChannelData: the two first bits are 01 (channel numbers 0x4000-0x7FFF).
    if matches!(datagram.first(), Some(0x40..=0x7F)) {
        let len = word(2)?;
        return (4 + len <= datagram.len()).then_some(len);
    }
    const HEADER: usize = 20;
    let indication = MessageType::new(METHOD_DATA, CLASS_INDICATION).value();
    if word(0)? != usize::from(indication) || datagram.get(4..8)? != MAGIC_COOKIE.to_be_bytes() {
        return None;
    }
    let end = HEADER + word(2)?;
    if end > datagram.len() {
        return None;
    }
    let mut at = HEADER;
    while at + 4 <= end {
        let (typ, len) = (word(at)?, word(at + 2)?);
        if at + 4 + len > end {
            return None;
        }
        if typ == usize::from(ATTR_DATA.value()) {
            return Some(len);
        }
        at += 4 + len.next_multiple_of(4);
    }
    None
}

#[cfg(test)]
mod tests {
    use stun::agent::TransactionId;
    use stun::message::{CLASS_SUCCESS_RESPONSE, METHOD_CREATE_PERMISSION, Message};
    use turn::proto::chandata::ChannelData;
    use turn::proto::channum::ChannelNumber;
    use turn::proto::data::Data;
    use turn::proto::peeraddr::PeerAddress;

    use super::*;

    fn data_indication(payload: &[u8]) -> Vec<u8> {
        let mut m = Message::new();
        m.build(&[
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
            Box::new(PeerAddress { ip: "198.51.100.7".parse().unwrap(), port: 9 }),
            Box::new(Data(payload.to_vec())),
        ])
        .unwrap();
        m.raw
    }

    #[test]
    fn channel_data_and_data_indications_carry_their_payload_length() {
        let mut cd = ChannelData { data: vec![7; 1200], number: ChannelNumber(0x4001), raw: vec![] };
        cd.encode();
        assert_eq!(payload_to_client(&cd.raw), Some(1200));
        // 5 bytes: the DATA attribute is padded, the count is not.
        assert_eq!(payload_to_client(&data_indication(b"hello")), Some(5));
        assert_eq!(payload_to_client(&data_indication(b"")), Some(0));
    }

    #[test]
    fn other_messages_and_truncated_frames_count_nothing() {
        let mut ok = Message::new();
        ok.build(&[
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_CREATE_PERMISSION, CLASS_SUCCESS_RESPONSE)),
        ])
        .unwrap();
        assert_eq!(payload_to_client(&ok.raw), None, "a response is not relayed data");
        let mut cd = ChannelData { data: vec![1; 100], number: ChannelNumber(0x4001), raw: vec![] };
        cd.encode();
        assert_eq!(payload_to_client(&cd.raw[..50]), None, "shorter than its length field");
        let ind = data_indication(b"hello");
        assert_eq!(payload_to_client(&ind[..ind.len() - 4]), None, "truncated indication");
        assert_eq!(payload_to_client(&[]), None);
        assert_eq!(payload_to_client(&[0x00, 0x17]), None);
    }
}
