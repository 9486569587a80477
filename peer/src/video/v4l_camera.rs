//! The camera source: V4L2 through `nokhwa`, the highest frame rate the
//! camera offers near 640×480, decoded to RGB and converted to I420.

use nokhwa::Camera;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};

use super::{I420Frame, VideoError, VideoSource};

/// A V4L2 camera (`/dev/videoN`).
pub struct V4lCamera {
    camera: Camera,
}

impl V4lCamera {
    /// Opens camera `index` (0 for `/dev/video0`).
    pub fn open(index: u32) -> Result<Self, VideoError> {
        let path = format!("/dev/video{index}");
        if !std::path::Path::new(&path).exists() {
            return Err(VideoError::NoDevice(format!(
                "no camera found ({path} does not exist); connect a camera or share without video"
            )));
        }
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::AbsoluteHighestFrameRate);
        let mut camera = Camera::new(CameraIndex::Index(index), format)
            .map_err(|e| VideoError::NoDevice(format!("cannot open the camera {path}: {e}")))?;
        camera
            .open_stream()
            .map_err(|e| VideoError::Capture(format!("cannot start the camera {path}: {e}")))?;
        Ok(Self { camera })
    }
}

impl VideoSource for V4lCamera {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        let buffer = self.camera.frame().map_err(|e| VideoError::Capture(e.to_string()))?;
        let rgb = buffer.decode_image::<RgbFormat>().map_err(|e| VideoError::Capture(e.to_string()))?;
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let mut bgra = Vec::with_capacity(w * h * 4);
        for px in rgb.as_raw().chunks_exact(3) {
            bgra.extend_from_slice(&[px[2], px[1], px[0], 255]);
        }
        super::convert::bgra_to_i420(&bgra, w * 4, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        match V4lCamera::open(99) {
            Err(VideoError::NoDevice(msg)) => assert!(msg.contains("/dev/video99"), "{msg}"),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("/dev/video99 should not exist here"),
        }
    }
}
