//! A recording sink: keeps what each remote participant sent, for tests and
//! headless machines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tandem_wire::ParticipantId;

use crate::media::inbound::{AudioSink, AudioSinkFactory};

/// Recordings by participant, shared with whoever reads them.
#[derive(Clone, Default)]
pub struct Recorder {
    recordings: Arc<Mutex<HashMap<ParticipantId, Vec<i16>>>>,
}

impl Recorder {
    /// What `from` has sent so far (48 kHz mono).
    pub fn recording(&self, from: ParticipantId) -> Vec<i16> {
        self.recordings.lock().unwrap_or_else(|p| p.into_inner()).get(&from).cloned().unwrap_or_default()
    }
}

impl AudioSinkFactory for Recorder {
    fn open(&self, from: ParticipantId) -> Box<dyn AudioSink> {
        Box::new(RecordingSink { from, recordings: self.recordings.clone() })
    }
}

struct RecordingSink {
    from: ParticipantId,
    recordings: Arc<Mutex<HashMap<ParticipantId, Vec<i16>>>>,
}

impl AudioSink for RecordingSink {
    fn samples(&mut self, pcm: &[i16]) {
        let mut all = self.recordings.lock().unwrap_or_else(|p| p.into_inner());
        let rec = all.entry(self.from).or_default();
        // Keep the last minute at most.
        if rec.len() > 48_000 * 60 {
            rec.drain(..48_000 * 10);
        }
        rec.extend_from_slice(pcm);
    }
}
