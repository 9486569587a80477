//! Video: sources and encoders behind small traits, one file per backend,
//! chosen at start-up.
//!
//! ```text
//! sending:   VideoSource (x11_screen, x11_window, screen_selector, v4l_camera, test_pattern) --I420Frame--> pipeline --> VideoEncoder (openh264) --Annex B--> Feed
//! screen:    ScreenSelector (Desktop | Window(WindowId) | Nothing) --read every frame--> screen_selector's source --> X11Screen | X11WindowSource | black
//! receiving: RTP --> H264Receiver (access units) --> OpenH264Decoder --I420Frame--> VideoSink
//! ```

pub mod convert;
pub mod h264_receiver;
pub mod openh264_decoder;
pub mod openh264_encoder;
pub mod pipeline;
pub mod screen_selector;
pub mod test_pattern;
pub mod v4l_camera;
pub mod x11_screen;
pub mod x11_window;

/// An X11 top-level window, as the approver picked it for application sharing (SHR-5..8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowId(pub u32);

/// A picture in I420 (planar YUV 4:2:0, BT.601 limited range), tightly packed:
/// the Y plane, then U, then V. Width and height are even.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420Frame {
    pub width: usize,
    pub height: usize,
    data: Vec<u8>,
}

impl I420Frame {
    /// A frame from tightly packed I420 planes; `None` when the sizes do not fit.
    pub fn from_packed(width: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        let ok = width.is_multiple_of(2) && height.is_multiple_of(2) && data.len() == width * height * 3 / 2;
        ok.then_some(Self { width, height, data })
    }

    /// The planes, mutable: Y, U, V.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.width * self.height;
        let (y, chroma) = self.data.split_at_mut(luma);
        let (u, v) = chroma.split_at_mut(luma / 4);
        (y, u, v)
    }

    /// Half the width and height (2×2 averages), rounded down to even sizes.
    pub fn half(&self) -> Self {
        let (w, h) = ((self.width / 2) & !1, (self.height / 2) & !1);
        let mut out = Self::black(w.max(2), h.max(2));
        let (w, h) = (out.width, out.height);
        let average = |src: &[u8], stride: usize, x: usize, y: usize| {
            let at = |dx: usize, dy: usize| u16::from(src[(2 * y + dy) * stride + 2 * x + dx]);
            ((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8
        };
        let (sw, cw) = (self.width, self.width / 2);
        let (oy, ou, ov) = out.planes_mut();
        for y in 0..h {
            for x in 0..w {
                oy[y * w + x] = average(self.y(), sw, x, y);
            }
        }
        for y in 0..h / 2 {
            for x in 0..w / 2 {
                ou[y * (w / 2) + x] = average(self.u(), cw, x, y);
                ov[y * (w / 2) + x] = average(self.v(), cw, x, y);
            }
        }
        out
    }

    /// A black frame; `width` and `height` are rounded down to even numbers.
    pub fn black(width: usize, height: usize) -> Self {
        let (width, height) = (width & !1, height & !1);
        let luma = width * height;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Self { width, height, data }
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    pub fn u(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma..luma + luma / 4]
    }

    pub fn v(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma + luma / 4..]
    }

    /// Fills a rectangle (clipped to the frame) with one colour.
    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, colour: Yuv) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        let (width, luma) = (self.width, self.width * self.height);
        for row in y..y1 {
            self.data[row * width + x..row * width + x1].fill(colour.y);
        }
        let (cw, qx, qy, qx1, qy1) = (width / 2, x / 2, y / 2, x1 / 2, y1 / 2);
        for row in qy..qy1 {
            self.data[luma + row * cw + qx..luma + row * cw + qx1].fill(colour.u);
            self.data[luma + luma / 4 + row * cw + qx..luma + luma / 4 + row * cw + qx1].fill(colour.v);
        }
    }

    /// The colour at a pixel (its chroma sample).
    pub fn at(&self, x: usize, y: usize) -> Yuv {
        let cw = self.width / 2;
        Yuv {
            y: self.y()[y * self.width + x],
            u: self.u()[(y / 2) * cw + x / 2],
            v: self.v()[(y / 2) * cw + x / 2],
        }
    }
}

/// One colour in BT.601 limited-range YUV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuv {
    pub y: u8,
    pub u: u8,
    pub v: u8,
}

impl Yuv {
    /// Converts 8-bit RGB ([ITU-R BT.601](https://www.itu.int/rec/R-REC-BT.601), limited range).
    pub fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
        let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        Self {
            y: clamp(16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0),
            u: clamp(128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0),
            v: clamp(128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0),
        }
    }

    /// Whether every component is within `tolerance` of `other`'s.
    pub fn near(self, other: Yuv, tolerance: u8) -> bool {
        self.y.abs_diff(other.y) <= tolerance
            && self.u.abs_diff(other.u) <= tolerance
            && self.v.abs_diff(other.v) <= tolerance
    }
}

/// Why a video source or encoder failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    #[error("no such video device: {0}")]
    NoDevice(String),
    #[error("capture failed: {0}")]
    Capture(String),
    #[error("encoder failed: {0}")]
    Encoder(String),
    #[error("decoder failed: {0}")]
    Decoder(String),
}

/// Where frames come from (screen, window, camera, test pattern).
pub trait VideoSource {
    /// The next frame. Sources are latest-frame-wins: they never queue.
    fn next_frame(&mut self) -> Result<I420Frame, VideoError>;
}

/// The display modes of SHR-11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayMode {
    /// Better image quality, more CPU: openh264's screen-content mode.
    #[default]
    Standard,
    /// Faster, lower quality: the camera-video preset at low complexity.
    ScreenSampling,
}

/// Turns frames into H.264 Annex B access units.
pub trait VideoEncoder: Send {
    /// Encodes one frame; an empty result means the encoder skipped it.
    fn encode(&mut self, frame: &I420Frame) -> Result<Vec<u8>, VideoError>;
    /// Makes the next frame a keyframe (IDR with SPS and PPS): on PLI/FIR and when a viewer joins.
    fn force_keyframe(&mut self);
    /// Changes the target bitrate from the next frame on (congestion control).
    fn set_bitrate(&mut self, bits_per_second: u32) -> Result<(), VideoError>;
    /// Encodes the next frames in this display mode (SHR-11, switched live by
    /// the viewer); the next frame is a keyframe.
    fn set_display_mode(&mut self, mode: DisplayMode) -> Result<(), VideoError>;
}

/// The NAL unit types in an Annex B byte stream ([H.264 §7.4.1](https://www.itu.int/rec/T-REC-H.264)).
pub fn nal_types(annex_b: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < annex_b.len() {
        let start = if annex_b[i..].starts_with(&[0, 0, 1]) {
            3
        } else if annex_b[i..].starts_with(&[0, 0, 0, 1]) {
            4
        } else {
            i += 1;
            continue;
        };
        if let Some(header) = annex_b.get(i + start) {
            types.push(header & 0x1f);
        }
        i += start + 1;
    }
    types
}
