//! ChannelData framing ([RFC 8656 §12.4](https://www.rfc-editor.org/rfc/rfc8656#section-12.4)),
//! pure: recognising a ChannelData datagram from a client and writing the
//! 4-byte header in front of a peer's payload.
//!
//! ```text
//!  0                   1                   2                   3
//! |         Channel Number        |            Length             |
//! |                    Application Data (Length bytes)            |
//! ```
//!
//! Over UDP the relay sends no padding (§12.5: padding is only required on
//! streams), so a peer's datagram becomes ChannelData by writing 4 bytes in
//! front of it, without moving it.

/// Bytes of the ChannelData header: channel number and length.
pub const HEADER: usize = 4;

/// A channel number that can frame ChannelData: 0x4000-0x7FFF, the values whose
/// first two bits are 01 (what the stock server accepts; RFC 8656 §12 assigns
/// 0x4000-0x4FFF and reserves the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelNumber(u16);

impl ChannelNumber {
    pub const MIN: u16 = 0x4000;
    pub const MAX: u16 = 0x7FFF;

    /// `None` outside 0x4000-0x7FFF: such a number cannot be told from a STUN message on the wire.
    pub fn new(n: u16) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&n).then_some(Self(n))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// The channel and application data of `datagram` if it is ChannelData, `None`
/// for anything else (STUN messages, a length beyond the datagram). Trailing
/// bytes after the data (padding) are ignored, as the stock server does.
pub fn parse(datagram: &[u8]) -> Option<(ChannelNumber, &[u8])> {
    let header = datagram.get(..HEADER)?;
    let channel = ChannelNumber::new(u16::from_be_bytes([header[0], header[1]]))?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let data = datagram.get(HEADER..HEADER + len)?;
    Some((channel, data))
}

/// Writes the header of ChannelData carrying `len` bytes on `channel`; `None`
/// when `len` does not fit the 16-bit length field.
pub fn header(channel: ChannelNumber, len: usize) -> Option<[u8; HEADER]> {
    let len = u16::try_from(len).ok()?;
    let [c0, c1] = channel.0.to_be_bytes();
    let [l0, l1] = len.to_be_bytes();
    Some([c0, c1, l0, l1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(n: u16) -> ChannelNumber {
        ChannelNumber::new(n).unwrap()
    }

    #[test]
    fn recognises_channel_data_and_its_payload() {
        let mut d = vec![0x40, 0x01, 0x00, 0x05];
        d.extend_from_slice(b"hello");
        assert_eq!(parse(&d), Some((channel(0x4001), &b"hello"[..])));
        // Padded to 4 bytes (as streams, and some UDP clients, send it): the padding is not data.
        d.extend_from_slice(&[0, 0, 0]);
        assert_eq!(parse(&d), Some((channel(0x4001), &b"hello"[..])));
        assert_eq!(parse(&[0x7F, 0xFF, 0, 0]), Some((channel(0x7FFF), &b""[..])));
    }

    #[test]
    fn stun_messages_short_and_truncated_datagrams_are_not_channel_data() {
        // A Binding request header: the first two bits are 00.
        let stun = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        assert_eq!(parse(&stun), None);
        assert_eq!(parse(&[0x80, 0x00, 0x00, 0x00]), None, "first bits 10: not a channel");
        assert_eq!(parse(&[0x40, 0x00, 0x00]), None, "shorter than the header");
        assert_eq!(parse(&[0x40, 0x00, 0x00, 0x08, 1, 2, 3]), None, "length beyond the datagram");
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn channel_numbers_outside_the_channel_range_are_refused() {
        assert_eq!(ChannelNumber::new(0x3FFF), None);
        assert_eq!(ChannelNumber::new(0x8000), None);
        assert_eq!(ChannelNumber::new(0x4000).map(ChannelNumber::get), Some(0x4000));
    }

    #[test]
    fn a_written_header_parses_back() {
        let mut d = header(channel(0x4abc), 3).unwrap().to_vec();
        d.extend_from_slice(&[9, 8, 7]);
        assert_eq!(parse(&d), Some((channel(0x4abc), &[9, 8, 7][..])));
        assert_eq!(header(channel(0x4000), 70_000), None);
    }
}
