//! Quantization: values to the integers stored in a layout's words, and back.

use glam::Quat;

use crate::error::ValueError;

pub(super) fn quantize_float(v: f32, min: f32, max: f32, steps: u32) -> Result<u32, ValueError> {
    if !v.is_finite() {
        return Err(ValueError::NotFinite);
    }
    let t = (f64::from(v) - f64::from(min)) / (f64::from(max) - f64::from(min));
    Ok((t * f64::from(steps)).round().clamp(0.0, f64::from(steps)) as u32)
}

/// Maps a quantized float back to its value: `min + q * (max - min) / steps` in f64, rounded
/// to f32.
pub fn dequantize_float(q: u32, min: f32, max: f32, steps: u32) -> f32 {
    (f64::from(min) + f64::from(q) * (f64::from(max) - f64::from(min)) / f64::from(steps)) as f32
}

/// Largest magnitude of a component other than the largest in a unit quaternion.
pub(super) const QUAT_RANGE: f64 = std::f64::consts::FRAC_1_SQRT_2;

pub(super) fn quantize_quat(q: Quat, bits: u32, out: &mut [u32]) -> Result<(), ValueError> {
    let a = q.normalize().to_array();
    if a.iter().any(|c| !c.is_finite()) {
        return Err(ValueError::NotFinite);
    }
    let mut largest = 0;
    for i in 1..4 {
        if a[i].abs() > a[largest].abs() {
            largest = i;
        }
    }
    let sign = if a[largest] < 0.0 { -1.0 } else { 1.0 };
    let top = f64::from((1u32 << bits) - 1);
    out[0] = largest as u32;
    let mut j = 1;
    for (i, &c) in a.iter().enumerate() {
        if i != largest {
            let t = (f64::from(c) * sign + QUAT_RANGE) / (2.0 * QUAT_RANGE);
            out[j] = (t * top).round().clamp(0.0, top) as u32;
            j += 1;
        }
    }
    Ok(())
}

pub(super) fn dequantize_quat(words: &[u32], bits: u32) -> Quat {
    let top = f64::from((1u32 << bits) - 1);
    let mut a = [0.0f64; 4];
    let largest = (words[0] & 3) as usize;
    let mut sum = 0.0;
    let mut j = 1;
    for (i, slot) in a.iter_mut().enumerate() {
        if i != largest {
            let c = f64::from(words[j]) / top * 2.0 * QUAT_RANGE - QUAT_RANGE;
            *slot = c;
            sum += c * c;
            j += 1;
        }
    }
    a[largest] = (1.0 - sum).max(0.0).sqrt();
    Quat::from_xyzw(a[0] as f32, a[1] as f32, a[2] as f32, a[3] as f32)
}
