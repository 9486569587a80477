//! Measuring received sound: the dominant frequency of a recording.

use super::SAMPLE_RATE;

/// The frequency (Hz) with the most energy between `low` and `high`, in 1 Hz
/// steps, by the Goertzel algorithm over the whole recording.
pub fn dominant_frequency(pcm: &[i16], low: u32, high: u32) -> Option<f64> {
    if pcm.len() < 1024 {
        return None;
    }
    let power = |f: u32| {
        let w = std::f64::consts::TAU * f64::from(f) / f64::from(SAMPLE_RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in pcm {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    };
    (low..=high).map(|f| (f, power(f))).max_by(|a, b| a.1.total_cmp(&b.1)).map(|(f, _)| f64::from(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::tone::Tone;

    #[test]
    fn finds_the_tone() {
        let mut tone = Tone::new(440.0);
        let pcm: Vec<i16> = (0..25).flat_map(|_| tone.render()).collect();
        assert_eq!(dominant_frequency(&pcm, 100, 2000), Some(440.0));
        assert_eq!(dominant_frequency(&pcm[..10], 100, 2000), None, "too short to tell");
    }
}
