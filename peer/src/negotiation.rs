//! Who makes the offer: a rule both ends compute alike, so that joins never
//! glare. The participant with the smaller participant id offers; the browser
//! client applies the same rule.

use tandem_wire::ParticipantId;

/// Whether `me` sends the offer to `them`.
pub fn makes_offer(me: ParticipantId, them: ParticipantId) -> bool {
    // Participant ids are fixed-width hex, so the order of the numbers is the
    // order of their strings, which is what the browser compares.
    me < them
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_side_offers_and_it_matches_string_order() {
        let a = ParticipantId::from_raw(0x0f);
        let b = ParticipantId::from_raw(0xf0);
        assert!(makes_offer(a, b) ^ makes_offer(b, a));
        assert_eq!(makes_offer(a, b), a.to_string() < b.to_string());
        assert!(!makes_offer(a, a), "never an offer to oneself");
    }
}
