//! Who makes the offer: a rule both ends compute alike, so that joins never
//! glare. The participant with the smaller participant id offers; the browser
//! client applies the same rule. And which peer connection a description comes
//! from: its DTLS certificate's fingerprint, new with every peer connection.

use tandem_wire::ParticipantId;

/// Whether `me` sends the offer to `them`.
pub fn makes_offer(me: ParticipantId, them: ParticipantId) -> bool {
    // Participant ids are fixed-width hex, so the order of the numbers is the
    // order of their strings, which is what the browser compares.
    me < them
}

/// The first `a=fingerprint` of an SDP (hash function and value, e.g. `sha-256 AB:CD:…`):
/// every peer connection has its own certificate (webrtc-rs generates one per
/// connection, as browsers do), so a new one means a new peer connection
/// ([RFC 8122 §5](https://www.rfc-editor.org/rfc/rfc8122#section-5)).
pub fn dtls_fingerprint(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|line| line.trim_end().strip_prefix("a=fingerprint:")).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_read_from_the_session_or_the_first_media_section() {
        let session = concat!(
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=fingerprint:sha-256 AB:CD:01\r\n",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        );
        assert_eq!(dtls_fingerprint(session), Some("sha-256 AB:CD:01"));
        let media = concat!(
            "v=0\r\ns=-\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n",
            "a=fingerprint:sha-256 EF:02\r\na=fingerprint:sha-1 00\r\n"
        );
        assert_eq!(dtls_fingerprint(media), Some("sha-256 EF:02"));
        assert_ne!(dtls_fingerprint(session), dtls_fingerprint(media));
        assert_eq!(dtls_fingerprint("v=0\r\ns=-\r\n"), None);
    }

    #[test]
    fn exactly_one_side_offers_and_it_matches_string_order() {
        let a = ParticipantId::from_raw(0x0f);
        let b = ParticipantId::from_raw(0xf0);
        assert!(makes_offer(a, b) ^ makes_offer(b, a));
        assert_eq!(makes_offer(a, b), a.to_string() < b.to_string());
        assert!(!makes_offer(a, a), "never an offer to oneself");
    }
}
