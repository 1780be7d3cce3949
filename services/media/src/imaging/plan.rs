//! The geometry of a transform: which source rectangle becomes which output
//! size, decided from the dimensions alone (pure, unit-tested).

use crate::imaging::{Fit, Transform};

/// The largest output side accepted.
pub const MAX_SIDE: u32 = 8192;

/// A rectangle in source pixels (fractional after scaling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// This rectangle in an image scaled by (`sx`, `sy`).
    pub fn scaled(self, sx: f64, sy: f64) -> Self {
        Self {
            x: self.x * sx,
            y: self.y * sy,
            w: self.w * sx,
            h: self.h * sy,
        }
    }
}

impl Rect {
    /// This rectangle kept inside a `w`×`h` image (scaling can overshoot by a rounding error).
    pub fn clamped(self, w: u32, h: u32) -> Self {
        let (w, h) = (f64::from(w), f64::from(h));
        let x = self.x.clamp(0.0, w);
        let y = self.y.clamp(0.0, h);
        Self {
            x,
            y,
            w: self.w.min(w - x).max(0.0),
            h: self.h.min(h - y).max(0.0),
        }
    }
}

/// What to do: resize `src` to `out_w`×`out_h`, then place it on a canvas when set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The part of the source used.
    pub src: Rect,
    /// Size of the resized image.
    pub out_w: u32,
    /// Size of the resized image.
    pub out_h: u32,
    /// `contain`: the canvas size and where the image goes on it.
    pub canvas: Option<Canvas>,
}

/// A padded canvas for `contain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    /// Canvas width.
    pub w: u32,
    /// Canvas height.
    pub h: u32,
    /// Image offset.
    pub x: u32,
    /// Image offset.
    pub y: u32,
}

/// Why a transform cannot apply to an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The crop rectangle is empty or leaves the image.
    #[error("the crop rectangle lies outside the {0}x{1} image")]
    CropOutside(u32, u32),
}

/// Plans `transform` on a `sw`×`sh` source.
pub fn plan(sw: u32, sh: u32, transform: &Transform) -> Result<Plan, PlanError> {
    let region = match transform.crop {
        Some([x, y, w, h]) => {
            if w == 0 || h == 0 || x.saturating_add(w) > sw || y.saturating_add(h) > sh {
                return Err(PlanError::CropOutside(sw, sh));
            }
            Rect {
                x: x.into(),
                y: y.into(),
                w: w.into(),
                h: h.into(),
            }
        }
        None => Rect {
            x: 0.0,
            y: 0.0,
            w: sw.into(),
            h: sh.into(),
        },
    };
    let (cw, ch) = (region.w, region.h);
    let side = |v: f64| (v.round() as u32).clamp(1, MAX_SIDE);
    let simple = |out_w, out_h| Plan {
        src: region,
        out_w,
        out_h,
        canvas: None,
    };
    Ok(match (transform.width, transform.height) {
        (None, None) => simple(side(cw), side(ch)),
        (Some(w), None) => simple(w, side(ch * f64::from(w) / cw)),
        (None, Some(h)) => simple(side(cw * f64::from(h) / ch), h),
        (Some(w), Some(h)) => {
            let (fw, fh) = (f64::from(w), f64::from(h));
            match transform.fit {
                Fit::Fill => simple(w, h),
                Fit::Cover => {
                    let scale = (fw / cw).max(fh / ch);
                    let (uw, uh) = (fw / scale, fh / scale);
                    let src = Rect {
                        x: region.x + (cw - uw) / 2.0,
                        y: region.y + (ch - uh) / 2.0,
                        w: uw,
                        h: uh,
                    };
                    Plan {
                        src,
                        out_w: w,
                        out_h: h,
                        canvas: None,
                    }
                }
                Fit::Contain | Fit::Inside => {
                    let mut scale = (fw / cw).min(fh / ch);
                    if transform.fit == Fit::Inside {
                        // `inside` never enlarges: the box is an upper bound.
                        scale = scale.min(1.0);
                    }
                    let (out_w, out_h) = (side(cw * scale).min(w), side(ch * scale).min(h));
                    let canvas = (transform.fit == Fit::Contain).then(|| Canvas {
                        w,
                        h,
                        x: (w - out_w) / 2,
                        y: (h - out_h) / 2,
                    });
                    Plan {
                        src: region,
                        out_w,
                        out_h,
                        canvas,
                    }
                }
            }
        }
    })
}

/// The JPEG DCT scale denominator (1, 2, 4 or 8) for decoding `src` of a
/// `sw`×`sh` image so that the scaled region still covers the output: the
/// largest that keeps at least `out` pixels on both axes.
pub fn shrink_factor(plan: &Plan) -> u32 {
    [8, 4, 2]
        .into_iter()
        .find(|d| {
            let d = f64::from(*d);
            plan.src.w / d >= f64::from(plan.out_w) && plan.src.h / d >= f64::from(plan.out_h)
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::OutputFormat;

    fn mk(w: Option<u32>, h: Option<u32>, fit: Fit) -> Transform {
        Transform {
            width: w,
            height: h,
            fit,
            format: OutputFormat::Png,
            quality: 80,
            crop: None,
        }
    }

    #[test]
    fn one_side_keeps_the_aspect_ratio() {
        let p = plan(4000, 3000, &mk(Some(400), None, Fit::Cover)).unwrap();
        assert_eq!((p.out_w, p.out_h), (400, 300));
        let p = plan(4000, 3000, &mk(None, Some(150), Fit::Cover)).unwrap();
        assert_eq!((p.out_w, p.out_h), (200, 150));
    }

    #[test]
    fn cover_crops_the_centre_to_the_box_ratio() {
        let p = plan(4000, 3000, &mk(Some(100), Some(100), Fit::Cover)).unwrap();
        assert_eq!((p.out_w, p.out_h), (100, 100));
        assert_eq!(
            p.src,
            Rect {
                x: 500.0,
                y: 0.0,
                w: 3000.0,
                h: 3000.0
            }
        );
    }

    #[test]
    fn contain_pads_and_inside_does_not_enlarge() {
        let p = plan(400, 200, &mk(Some(100), Some(100), Fit::Contain)).unwrap();
        assert_eq!((p.out_w, p.out_h), (100, 50));
        assert_eq!(
            p.canvas,
            Some(Canvas {
                w: 100,
                h: 100,
                x: 0,
                y: 25
            })
        );
        let p = plan(40, 20, &mk(Some(100), Some(100), Fit::Inside)).unwrap();
        assert_eq!((p.out_w, p.out_h, p.canvas), (40, 20, None));
    }

    #[test]
    fn crop_outside_the_image_is_refused() {
        let mut t = mk(None, None, Fit::Cover);
        t.crop = Some([10, 10, 100, 100]);
        assert_eq!(plan(50, 50, &t), Err(PlanError::CropOutside(50, 50)));
        t.crop = Some([10, 10, 20, 30]);
        let p = plan(50, 50, &t).unwrap();
        assert_eq!((p.out_w, p.out_h), (20, 30));
    }

    #[test]
    fn clamping_removes_rounding_overshoot() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 663.000_000_1,
            h: 450.0,
        }
        .clamped(663, 450);
        assert_eq!(
            r,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 663.0,
                h: 450.0
            }
        );
    }

    #[test]
    fn shrink_on_load_keeps_enough_pixels() {
        let p = plan(8000, 6000, &mk(Some(256), Some(256), Fit::Cover)).unwrap();
        assert_eq!(shrink_factor(&p), 8);
        let p = plan(800, 600, &mk(Some(300), None, Fit::Cover)).unwrap();
        assert_eq!(shrink_factor(&p), 2);
        let p = plan(800, 600, &mk(Some(700), None, Fit::Cover)).unwrap();
        assert_eq!(shrink_factor(&p), 1);
    }
}
