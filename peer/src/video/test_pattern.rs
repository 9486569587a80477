//! A synthetic video source for tests and headless machines: four colour
//! blocks that must survive encoding, a moving bar so that frames differ, and
//! the frame counter written as 16 black-or-white blocks that a receiver can
//! read back from decoded pixels.

use super::{I420Frame, VideoError, VideoSource, Yuv};

/// Side of a colour block, in pixels (a multiple of the 16-pixel macroblock).
pub const BLOCK: usize = 64;
/// Side of one counter bit, in pixels.
pub const BIT: usize = 32;
/// Bits of the frame counter.
pub const COUNTER_BITS: usize = 16;

/// The colour blocks: name, colour, top-left corner.
pub fn colour_blocks() -> [(&'static str, Yuv, (usize, usize)); 4] {
    [
        ("red", Yuv::from_rgb(255, 0, 0), (32, 32)),
        ("green", Yuv::from_rgb(0, 255, 0), (32 + 2 * BLOCK, 32)),
        ("blue", Yuv::from_rgb(0, 0, 255), (32 + 4 * BLOCK, 32)),
        ("white", Yuv::from_rgb(255, 255, 255), (32 + 6 * BLOCK, 32)),
    ]
}

/// The test pattern source. Frames are at least 512×256.
pub struct TestPattern {
    width: usize,
    height: usize,
    counter: u64,
    /// For a busy screen: a page of random grey 16×16 blocks, twice the frame's height, scrolled.
    page: Option<Vec<u8>>,
}

/// How far the busy page scrolls per frame, in pixels (a fast scroll through a document).
const SCROLL: usize = 8;

impl TestPattern {
    /// A pattern of `width`×`height` (clamped to at least 512×256, rounded to even).
    pub fn new(width: usize, height: usize) -> Self {
        Self { width: width.max(512), height: height.max(256), counter: 0, page: None }
    }

    /// The same pattern over a busy background: the whole picture scrolls by
    /// 8 pixels every frame (like scrolling a page full of detail).
    pub fn busy(width: usize, height: usize) -> Self {
        let mut p = Self::new(width, height);
        let (w, h) = (p.width & !1, (p.height & !1) * 2);
        let mut page = vec![0u8; w * h];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for by in (0..h).step_by(16) {
            for bx in (0..w).step_by(16) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let grey = 16 + (x >> 56) as u8 % 220;
                for row in by..(by + 16).min(h) {
                    page[row * w + bx..row * w + (bx + 16).min(w)].fill(grey);
                }
            }
        }
        p.page = Some(page);
        p
    }

    /// Draws frame number `n`.
    pub fn draw(&self, n: u64) -> I420Frame {
        let mut f = I420Frame::black(self.width, self.height);
        match &self.page {
            Some(page) => {
                let (w, h) = (f.width, f.height);
                let offset = (n as usize * SCROLL) % h;
                let (y, u, v) = f.planes_mut();
                y.copy_from_slice(&page[offset * w..(offset + h) * w]);
                u.fill(128);
                v.fill(128);
            }
            None => f.fill_rect(0, 0, f.width, f.height, Yuv::from_rgb(96, 96, 96)),
        }
        // A bar moving along the middle, so that consecutive frames differ.
        let travel = f.width.saturating_sub(BLOCK).max(1);
        let bar_x = (n as usize * 8) % travel;
        f.fill_rect(bar_x, 32 + BLOCK + 32, BLOCK, BLOCK, Yuv::from_rgb(255, 255, 0));
        for (_, colour, (x, y)) in colour_blocks() {
            f.fill_rect(x, y, BLOCK, BLOCK, colour);
        }
        let (x0, y0) = counter_origin(f.height);
        for bit in 0..COUNTER_BITS {
            let on = (n >> bit) & 1 == 1;
            let c = if on { Yuv::from_rgb(255, 255, 255) } else { Yuv::from_rgb(0, 0, 0) };
            f.fill_rect(x0 + bit * BIT, y0, BIT, BIT, c);
        }
        f
    }
}

impl VideoSource for TestPattern {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        let frame = self.draw(self.counter);
        self.counter += 1;
        Ok(frame)
    }
}

fn counter_origin(height: usize) -> (usize, usize) {
    (0, height - BIT)
}

/// Reads the frame counter back from a (decoded) frame: the centre of each bit block, bright or dark.
pub fn read_counter(frame: &I420Frame) -> u64 {
    read_counter_downscaled(frame, 1)
}

/// Reads the counter from a picture the sender scaled down by `factor` (1, 2, 4).
pub fn read_counter_downscaled(frame: &I420Frame, factor: usize) -> u64 {
    let factor = factor.max(1);
    let bit = BIT / factor;
    let y0 = frame.height - bit;
    (0..COUNTER_BITS)
        .filter(|b| frame.at(b * bit + bit / 2, y0 + bit / 2).y > 128)
        .fold(0, |n, b| n | (1 << b))
}

/// The colour blocks that do not match in `frame` (centre sample, within `tolerance`).
pub fn mismatched_blocks(frame: &I420Frame, tolerance: u8) -> Vec<(&'static str, Yuv, Yuv)> {
    colour_blocks()
        .into_iter()
        .filter_map(|(name, want, (x, y))| {
            let got = frame.at(x + BLOCK / 2, y + BLOCK / 2);
            (!got.near(want, tolerance)).then_some((name, want, got))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_reads_back_exactly() {
        let p = TestPattern::new(640, 480);
        for n in [0, 1, 2, 255, 4096, 65_535] {
            let f = p.draw(n);
            assert_eq!(read_counter(&f), n);
            assert!(mismatched_blocks(&f, 0).is_empty());
        }
        assert_ne!(p.draw(1).y(), p.draw(2).y(), "frames differ");
        let busy = TestPattern::busy(640, 480);
        for n in [0, 7, 1000] {
            let f = busy.draw(n);
            assert_eq!(read_counter(&f), n);
            assert!(mismatched_blocks(&f, 0).is_empty());
        }
    }
}
