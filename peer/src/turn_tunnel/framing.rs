//! TURN over a byte stream (TCP or TLS): where one message ends and the next
//! begins, as [RFC 8656 §12.5](https://www.rfc-editor.org/rfc/rfc8656#section-12.5)
//! frames them. Pure: bytes in, frames out.
//!
//! A stream carries two kinds of message, told apart by their first two bits:
//! `00` a STUN message (20-byte header whose length field counts the
//! attributes, always a multiple of 4), `01` a ChannelData message (4-byte
//! header: channel number, data length; on streams padded to a multiple of 4).

use thiserror::Error;

const STUN_HEADER: usize = 20;
const CHANNEL_DATA_HEADER: usize = 4;

/// The stream carried something that is neither STUN nor ChannelData: it
/// cannot be resynchronised and must be closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the TURN stream carried a message starting with {first:#04x}, neither STUN nor ChannelData")]
pub struct FramingError {
    pub first: u8,
}

/// The length of the message that starts `bytes` as it is framed on a stream
/// (ChannelData padded), and the length of its meaningful part; `None` until
/// the header is there.
fn frame_len(bytes: &[u8]) -> Result<Option<(usize, usize)>, FramingError> {
    let Some(&first) = bytes.first() else { return Ok(None) };
    let (header, padded) = match first >> 6 {
        0b00 => (STUN_HEADER, false),
        0b01 => (CHANNEL_DATA_HEADER, true),
        _ => return Err(FramingError { first }),
    };
    if bytes.len() < header {
        return Ok(None);
    }
    let body = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    let message = header + body;
    Ok(Some((if padded { message.next_multiple_of(4) } else { message }, message)))
}

/// The bytes to write on the stream for one datagram from the local TURN
/// client (ChannelData gets its padding), or `None` when the datagram is not
/// a whole STUN or ChannelData message.
pub fn to_stream(datagram: &[u8]) -> Option<Vec<u8>> {
    let (framed, message) = frame_len(datagram).ok()??;
    if datagram.len() < message {
        return None;
    }
    let mut out = datagram[..message].to_vec();
    out.resize(framed, 0);
    Some(out)
}

/// Splits the byte stream from the relay back into datagrams.
#[derive(Debug, Default)]
pub struct Deframer {
    buffer: Vec<u8>,
    /// Where the next message starts in `buffer`: consumed bytes are dropped
    /// once per [`Self::push`], not once per message.
    start: usize,
}

impl Deframer {
    /// Bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message (without stream padding), `None` until one has arrived.
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, FramingError> {
        let rest = &self.buffer[self.start..];
        let Some((framed, message)) = frame_len(rest)? else { return Ok(None) };
        if rest.len() < framed {
            return Ok(None);
        }
        let at = self.start;
        self.start += framed;
        Ok(Some(&self.buffer[at..at + message]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attributes: usize) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(attributes as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend(std::iter::repeat_n(0xab, attributes));
        m
    }

    fn channel_data(channel: u16, data: &[u8]) -> Vec<u8> {
        let mut m = channel.to_be_bytes().to_vec();
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(data);
        m
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_unpadded_off_it() {
        let datagram = channel_data(0x4001, b"hello");
        let framed = to_stream(&datagram).unwrap();
        assert_eq!(framed.len(), 12, "4 + 5 rounded up to 12");
        assert_eq!(&framed[..9], &datagram[..]);
        let mut d = Deframer::default();
        d.push(&framed);
        assert_eq!(d.next_message().unwrap(), Some(&datagram[..]));
        assert_eq!(d.next_message().unwrap(), None);
    }

    #[test]
    fn messages_split_and_joined_anywhere_come_out_whole() {
        let messages = [stun(8), channel_data(0x4000, &[1, 2, 3]), stun(0), channel_data(0x7fff, &[9; 1200])];
        let stream: Vec<u8> = messages.iter().flat_map(|m| to_stream(m).unwrap()).collect();
        for chunk in [1, 3, 7, 1000] {
            let mut d = Deframer::default();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                d.push(piece);
                while let Some(m) = d.next_message().unwrap() {
                    out.push(m.to_vec());
                }
            }
            assert_eq!(out, messages, "chunks of {chunk}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let mut d = Deframer::default();
        d.push(&[0x80, 0, 0, 0]);
        assert_eq!(d.next_message(), Err(FramingError { first: 0x80 }));
        assert_eq!(to_stream(&[0xc0, 0, 0, 0]), None);
    }

    #[test]
    fn a_datagram_shorter_than_its_header_says_is_dropped() {
        let mut m = channel_data(0x4001, b"hello");
        m.truncate(6);
        assert_eq!(to_stream(&m), None);
        let mut s = stun(8);
        s.truncate(24);
        assert_eq!(to_stream(&s), None);
        assert_eq!(to_stream(&[0x40]), None);
    }

    #[test]
    fn a_trailing_partial_message_waits_for_the_rest() {
        let mut d = Deframer::default();
        let m = stun(4);
        d.push(&m[..21]);
        assert_eq!(d.next_message().unwrap(), None);
        d.push(&m[21..]);
        assert_eq!(d.next_message().unwrap(), Some(&m[..]));
    }
}
