//! Real sound devices through cpal's PulseAudio host: a user-mode PulseAudio
//! (started here, with a paced null sink; there is no sound card on these
//! machines) plays a tone through `CpalPlayback` and `CpalCapture` records it
//! back from the sink's monitor, at the device's own rate (resampled to and
//! from 48 kHz). The pitch must survive within ±2 %, and the tone must be
//! heard within 2.5 s of starting (with the host's default buffers it took
//! several seconds: the backend asks for 20 ms buffers). The daemon and its
//! directory are removed at the end, also on failure.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tandem_peer::audio::AudioSource;
use tandem_peer::audio::analysis::dominant_frequency;
use tandem_peer::audio::cpal_backend::{CpalCapture, CpalPlayback};
use tandem_peer::audio::tone::Tone;
use tandem_peer::media::AudioSinkFactory;
use tandem_wire::ParticipantId;

const HZ: f64 = 500.0;

struct PulseAudio {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for PulseAudio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_pulseaudio() -> PulseAudio {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let child = Command::new("pulseaudio")
        .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--log-target=stderr"])
        .args(["-L", "module-native-protocol-unix", "-L", "module-null-sink sink_name=vsink rate=48000"])
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", &run)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("pulseaudio must be installed (scripts/debian-packages/peer.txt)");
    let socket = run.join("pulse/native");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "PulseAudio did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    for (what, name) in [("set-default-sink", "vsink"), ("set-default-source", "vsink.monitor")] {
        let ok = Command::new("pactl")
            .args([what, name])
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", &run)
            .status()
            .expect("pactl (pulseaudio-utils)");
        assert!(ok.success(), "pactl {what} {name}");
    }
    // SAFETY: set before any other thread of this test process exists (nextest runs
    // each test in its own process); cpal's PulseAudio host reads them to connect.
    unsafe {
        std::env::set_var("HOME", dir.path());
        std::env::set_var("XDG_RUNTIME_DIR", &run);
        std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
    }
    PulseAudio { child, _dir: dir }
}

#[test]
fn a_tone_played_on_the_speaker_is_heard_on_the_microphone() {
    let _pulse = start_pulseaudio();
    let playback = CpalPlayback::open().expect("the null sink as the default output");
    let mut capture = CpalCapture::open().expect("the sink's monitor as the default input");

    if std::env::var_os("TANDEM_DEBUG_PULSE").is_some() {
        for what in ["sink-inputs", "source-outputs", "sinks", "sources"] {
            let out = Command::new("pactl").args(["list", "short", what]).output().unwrap();
            eprintln!("{what}: {}", String::from_utf8_lossy(&out.stdout));
        }
    }
    // Play the tone, paced like received voice: 20 ms frames in real time.
    let mut speaker = playback.open(ParticipantId::from_raw(1));
    let player = std::thread::spawn(move || {
        let mut tone = Tone::new(HZ);
        for _ in 0..150 {
            speaker.samples(&tone.next_frame().unwrap());
        }
    });
    let mut heard = Vec::new();
    for _ in 0..125 {
        heard.extend(capture.next_frame().expect("the microphone delivers 20 ms frames"));
    }
    player.join().unwrap();
    // The last second, when the tone has surely started.
    let last = &heard[heard.len() - 48_000..];
    let loudest = last.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(loudest > 1_000, "the tone is audible (peak {loudest})");
    let f = dominant_frequency(last, 100, 4_000).unwrap();
    assert!((f - HZ).abs() <= HZ * 0.02, "heard {f} Hz, played {HZ} Hz");
}
