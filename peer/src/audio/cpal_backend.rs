//! Real sound devices through `cpal` (PulseAudio when it runs, else ALSA):
//! the default input as an [`AudioSource`], the default output as a sink.
//! Device rates other than 48 kHz are resampled (linear interpolation, good
//! enough for voice) and channels are mixed down to mono or copied up.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use tandem_wire::ParticipantId;

use super::{AudioError, AudioSource, FRAME_SAMPLES, SAMPLE_RATE};
use crate::media::inbound::{AudioSink, AudioSinkFactory};

/// The default input device, as 20 ms mono frames at 48 kHz.
pub struct CpalCapture {
    _stream: cpal::Stream,
    chunks: mpsc::Receiver<Vec<i16>>,
    pending: VecDeque<i16>,
}

impl CpalCapture {
    pub fn open() -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let device = host.default_input_device().ok_or_else(|| {
            AudioError::NoDevice("no microphone found; join without voice or use the test tone".into())
        })?;
        let supported = device.default_input_config().map_err(|e| AudioError::NoDevice(e.to_string()))?;
        let mut config = supported.config();
        config.buffer_size = low_latency_buffer(&supported);
        let channels = usize::from(config.channels.max(1));
        let mut resampler = Resampler::new(config.sample_rate, SAMPLE_RATE);
        let (tx, chunks) = mpsc::sync_channel(50);
        let mut deliver = move |mono: Vec<i16>| {
            // A stalled reader loses sound rather than growing a queue.
            let _ = tx.try_send(resampler.process(&mono));
        };
        let err = |e: cpal::Error| tracing::warn!(error = %e, "microphone error");
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
                config,
                move |data, _| deliver(downmix(data, channels, |s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)),
                err,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                config,
                move |data, _| deliver(downmix(data, channels, |s| s)),
                err,
                None,
            ),
            other => {
                return Err(AudioError::Device(format!("unsupported microphone sample format {other:?}")));
            }
        }
        .map_err(|e| AudioError::Device(e.to_string()))?;
        stream.play().map_err(|e| AudioError::Device(e.to_string()))?;
        Ok(Self { _stream: stream, chunks, pending: VecDeque::new() })
    }
}

impl AudioSource for CpalCapture {
    fn next_frame(&mut self) -> Result<Vec<i16>, AudioError> {
        while self.pending.len() < FRAME_SAMPLES {
            let chunk = self
                .chunks
                .recv_timeout(std::time::Duration::from_secs(2))
                .map_err(|_| AudioError::Device("the microphone stopped delivering sound".into()))?;
            self.pending.extend(chunk);
        }
        Ok(self.pending.drain(..FRAME_SAMPLES).collect())
    }
}

/// 20 ms of frames when the device allows it, else the host's default.
fn low_latency_buffer(supported: &cpal::SupportedStreamConfig) -> cpal::BufferSize {
    let frames = supported.sample_rate() / 50;
    match supported.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => cpal::BufferSize::Fixed(frames.clamp(*min, *max)),
        cpal::SupportedBufferSize::Unknown => cpal::BufferSize::Fixed(frames),
    }
}

fn downmix<T: Copy>(data: &[T], channels: usize, to_i16: impl Fn(T) -> i16) -> Vec<i16> {
    data.chunks(channels)
        .map(|frame| (frame.iter().map(|&s| i32::from(to_i16(s))).sum::<i32>() / frame.len() as i32) as i16)
        .collect()
}

/// Plays every remote participant's voice on the default output, mixed.
pub struct CpalPlayback {
    queue: Arc<Mutex<VecDeque<i16>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl CpalPlayback {
    /// Opens the default output on a thread that owns the stream for the life of the program.
    pub fn open() -> Result<Self, AudioError> {
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("audio-out".into())
            .spawn({
                let queue = queue.clone();
                move || match open_output(queue) {
                    Ok(_stream) => {
                        let _ = ready_tx.send(Ok(()));
                        // The stream plays as long as this thread holds it.
                        loop {
                            std::thread::park();
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| AudioError::Device(e.to_string()))?;
        ready_rx
            .recv()
            .unwrap_or_else(|_| Err(AudioError::Device("the audio output thread ended".into())))?;
        Ok(Self { queue, _thread: thread })
    }
}

fn open_output(queue: Arc<Mutex<VecDeque<i16>>>) -> Result<cpal::Stream, AudioError> {
    let device = cpal::default_host()
        .default_output_device()
        .ok_or_else(|| AudioError::NoDevice("no speaker or headset found".into()))?;
    let supported = device.default_output_config().map_err(|e| AudioError::NoDevice(e.to_string()))?;
    let format = supported.sample_format();
    let mut config = supported.config();
    // Voice wants a short device buffer: hosts default to seconds (PulseAudio's 2 s).
    config.buffer_size = low_latency_buffer(&supported);
    let channels = usize::from(config.channels.max(1));
    let mut resampler = Resampler::new(SAMPLE_RATE, config.sample_rate);
    let mut ready: VecDeque<i16> = VecDeque::new();
    // Fills `needed` frames of mono samples, silence when nothing has arrived.
    let mut next_samples = move |needed: usize| {
        if ready.len() < needed {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            let take: Vec<i16> = q.drain(..).collect();
            drop(q);
            ready.extend(resampler.process(&take));
        }
        (0..needed).map(|_| ready.pop_front().unwrap_or(0)).collect::<Vec<i16>>()
    };
    let err = |e: cpal::Error| tracing::warn!(error = %e, "speaker error");
    let stream = match format {
        cpal::SampleFormat::F32 => device.build_output_stream::<f32, _, _>(
            config,
            move |out, _| {
                let mono = next_samples(out.len() / channels);
                for (frame, s) in out.chunks_mut(channels).zip(mono) {
                    frame.fill(f32::from(s) / 32768.0);
                }
            },
            err,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
            config,
            move |out, _| {
                let mono = next_samples(out.len() / channels);
                for (frame, s) in out.chunks_mut(channels).zip(mono) {
                    frame.fill(s);
                }
            },
            err,
            None,
        ),
        other => return Err(AudioError::Device(format!("unsupported output sample format {other:?}"))),
    }
    .map_err(|e| AudioError::Device(e.to_string()))?;
    stream.play().map_err(|e| AudioError::Device(e.to_string()))?;
    Ok(stream)
}

impl AudioSinkFactory for CpalPlayback {
    fn open(&self, _from: ParticipantId) -> Box<dyn AudioSink> {
        Box::new(PlaybackSink { queue: self.queue.clone() })
    }
}

struct PlaybackSink {
    queue: Arc<Mutex<VecDeque<i16>>>,
}

impl AudioSink for PlaybackSink {
    fn samples(&mut self, pcm: &[i16]) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        // More than 200 ms waiting means the output is behind: drop the oldest, keep latency low.
        let limit = SAMPLE_RATE as usize / 5;
        if q.len() + pcm.len() > limit {
            let excess = (q.len() + pcm.len() - limit).min(q.len());
            q.drain(..excess);
        }
        q.extend(pcm.iter().copied());
    }
}

/// Linear-interpolation resampler for one mono stream.
pub struct Resampler {
    step: f64,
    pos: f64,
    last: i16,
}

impl Resampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Self {
        Self { step: f64::from(from_hz) / f64::from(to_hz.max(1)), pos: 0.0, last: 0 }
    }

    pub fn process(&mut self, input: &[i16]) -> Vec<i16> {
        if (self.step - 1.0).abs() < f64::EPSILON {
            return input.to_vec();
        }
        let mut out = Vec::with_capacity((input.len() as f64 / self.step) as usize + 1);
        // `pos` is measured from the sample before `input[0]` (the previous call's last one).
        while self.pos < input.len() as f64 {
            let i = self.pos.floor() as usize;
            let frac = self.pos - i as f64;
            let a = if i == 0 { self.last } else { input[i - 1] };
            let b = input[i];
            out.push((f64::from(a) + (f64::from(b) - f64::from(a)) * frac) as i16);
            self.pos += self.step;
        }
        self.pos -= input.len() as f64;
        if let Some(&l) = input.last() {
            self.last = l;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::dominant_frequency;
    use crate::audio::tone::Tone;

    #[test]
    fn resampling_keeps_the_pitch_and_the_length() {
        // 44.1 kHz device: a tone made at 48 kHz, taken down and up again.
        let mut tone = Tone::new(500.0);
        let pcm: Vec<i16> = (0..50).flat_map(|_| tone.render()).collect();
        let mut down = Resampler::new(48_000, 44_100);
        let mut up = Resampler::new(44_100, 48_000);
        let low: Vec<i16> = pcm.chunks(441).flat_map(|c| down.process(c)).collect();
        assert!((low.len() as i64 - 44_100).abs() <= 2, "{} samples", low.len());
        let back: Vec<i16> = low.chunks(300).flat_map(|c| up.process(c)).collect();
        assert!((back.len() as i64 - 48_000).abs() <= 2);
        assert_eq!(dominant_frequency(&back, 100, 2000), Some(500.0));
    }

    #[test]
    fn downmix_averages_channels() {
        assert_eq!(downmix(&[100i16, 300, -50, 50], 2, |s| s), vec![200, 0]);
    }
}
