//! Colour conversion for captured pictures, with the `yuv` crate's SIMD code.

use yuv::{BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

use super::{I420Frame, VideoError};

/// Converts a BGRA picture (rows of `stride` bytes) to I420, BT.601 limited
/// range, cropping an odd width or height by one.
pub fn bgra_to_i420(
    bgra: &[u8],
    stride: usize,
    width: usize,
    height: usize,
) -> Result<I420Frame, VideoError> {
    let mut frame = I420Frame::black(width, height);
    let (w, h) = (frame.width as u32, frame.height as u32);
    if stride < width * 4 || bgra.len() < stride * frame.height {
        return Err(VideoError::Capture(format!("a {width}x{height} picture with {} bytes", bgra.len())));
    }
    let (y, u, v) = frame.planes_mut();
    let mut planes = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride: w,
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: w / 2,
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: w / 2,
        width: w,
        height: h,
    };
    yuv::bgra_to_yuv420(
        &mut planes,
        bgra,
        stride as u32,
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
        YuvConversionMode::Balanced,
    )
    .map_err(|e| VideoError::Capture(format!("colour conversion: {e}")))?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Yuv;

    #[test]
    fn bgra_colours_convert_to_the_bt601_values() {
        let (w, h) = (64, 32);
        let mut bgra = vec![0u8; w * 4 * h];
        for (i, px) in bgra.chunks_mut(4).enumerate() {
            let (r, g, b) = if i % w < w / 2 { (255, 0, 0) } else { (0, 0, 255) };
            px.copy_from_slice(&[b, g, r, 255]);
        }
        let f = bgra_to_i420(&bgra, w * 4, w, h).unwrap();
        assert!(f.at(8, 8).near(Yuv::from_rgb(255, 0, 0), 2), "red: {:?}", f.at(8, 8));
        assert!(f.at(48, 8).near(Yuv::from_rgb(0, 0, 255), 2), "blue: {:?}", f.at(48, 8));
        assert!(bgra_to_i420(&bgra[..100], w * 4, w, h).is_err(), "a short buffer is refused");
    }
}
