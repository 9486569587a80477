//! Lets keyframe requests (PLI and FIR, [RFC 4585 §6.3.1](https://www.rfc-editor.org/rfc/rfc4585#section-6.3.1),
//! [RFC 5104 §4.3.1](https://www.rfc-editor.org/rfc/rfc5104#section-4.3.1)) reach the application.
//!
//! In webrtc 0.21, inbound RTCP ends at the end of the interceptor chain unless
//! an interceptor marks it `DeliverToApplication`. This one sits last in the
//! chain (after NACK, reports and congestion control have seen everything),
//! marks PLI and FIR, and drops the rest, so a sent track's `poll()` yields
//! exactly the requests the encoder must answer with an IDR.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;

/// Application-most slot: every other interceptor has read the RTCP before.
const SLOT: usize = 14_000;

/// Adds the forwarder at the end of `registry`'s chain.
pub fn register(registry: Registry) -> Registry {
    registry.with(Slot::from(SLOT), KeyframeRequestForwarder::default())
}

/// Whether an RTCP packet asks for a keyframe.
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

#[derive(Default)]
struct KeyframeRequestForwarder {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<_> =
                packets.iter().filter(|p| is_keyframe_request(p.as_ref())).cloned().collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
