//! A timer-paced synthetic source: a sine tone, for tests and machines
//! without a microphone.

use std::time::{Duration, Instant};

use super::{AudioError, AudioSource, FRAME_SAMPLES, SAMPLE_RATE};

/// A sine tone at a fixed frequency, a frame every 20 ms of wall time.
pub struct Tone {
    frequency: f64,
    amplitude: f64,
    sample: u64,
    next: Option<Instant>,
}

impl Tone {
    pub fn new(frequency: f64) -> Self {
        Self { frequency, amplitude: 8_000.0, sample: 0, next: None }
    }

    /// The next frame, without waiting.
    pub fn render(&mut self) -> Vec<i16> {
        let step = std::f64::consts::TAU * self.frequency / f64::from(SAMPLE_RATE);
        let frame = (0..FRAME_SAMPLES as u64)
            .map(|i| (self.amplitude * ((self.sample + i) as f64 * step).sin()) as i16)
            .collect();
        self.sample += FRAME_SAMPLES as u64;
        frame
    }
}

impl AudioSource for Tone {
    fn next_frame(&mut self) -> Result<Vec<i16>, AudioError> {
        let frame_time = Duration::from_millis(20);
        let now = Instant::now();
        let next = *self.next.get_or_insert(now);
        if next > now {
            std::thread::sleep(next - now);
        }
        // Paced by deadlines, not by sleeps: no drift, and no burst after a stall.
        self.next = Some((next + frame_time).max(Instant::now() - frame_time));
        Ok(self.render())
    }
}
