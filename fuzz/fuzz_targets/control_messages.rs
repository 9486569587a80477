//! Fuzzes the remote control decoder (issue 6): whatever a controlling peer
//! sends on the `control` and `control-motion` channels. A message either is
//! refused or decodes to one that encodes and decodes to itself, and its
//! position always falls inside the surface it is mapped onto.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wire::channels::ControlMessage;

fuzz_target!(|data: &[u8]| {
    // The first four bytes pick a surface size; the rest is the message.
    let (size, text) = data.split_at(data.len().min(4));
    let mut size = size.to_vec();
    size.resize(4, 0);
    let (width, height) = (
        u32::from(u16::from_le_bytes([size[0], size[1]])),
        u32::from(u16::from_le_bytes([size[2], size[3]])),
    );
    let Ok(text) = std::str::from_utf8(text) else { return };
    let Ok(message) = tandem_wire::decode::<ControlMessage>(text) else { return };
    let again = tandem_wire::decode::<ControlMessage>(&tandem_wire::encode(&message)).expect("re-decodes");
    assert_eq!(again, message);
    let at = match message {
        ControlMessage::Motion { at, .. }
        | ControlMessage::Button { at, .. }
        | ControlMessage::Wheel { at, .. } => at,
        ControlMessage::Key { .. } => return,
    };
    let (x, y) = at.to_pixel(width, height);
    assert!(x < width.max(1) && y < height.max(1), "({x}, {y}) outside {width}x{height}");
});
