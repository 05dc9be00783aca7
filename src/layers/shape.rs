//! The shape of one example as it flows between layers: a flat vector of `d` features, or an
//! image of `C × H × W` (NCHW, row-major: channel, then row, then column). A layer maps an input
//! shape to an output shape; a batch of `rows` examples is `rows × shape.len()` values.

use serde::{Deserialize, Serialize};

/// One example's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// `d` features.
    Flat(usize),
    /// `channels × height × width`, stored channel-major.
    Image {
        /// `C`.
        channels: usize,
        /// `H`.
        height: usize,
        /// `W`.
        width: usize,
    },
}

impl Shape {
    /// Values per example (`d`, or `C·H·W`).
    pub fn len(&self) -> usize {
        match *self {
            Shape::Flat(d) => d,
            Shape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
        }
    }

    /// Whether an example holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same values read as a flat vector (what a dense layer sees).
    pub fn flattened(&self) -> Shape {
        Shape::Flat(self.len())
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Shape::Flat(d) => write!(f, "{d}"),
            Shape::Image {
                channels,
                height,
                width,
            } => write!(f, "{channels}×{height}×{width}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_display() {
        let img = Shape::Image {
            channels: 3,
            height: 4,
            width: 5,
        };
        assert_eq!(img.len(), 60);
        assert_eq!(img.flattened(), Shape::Flat(60));
        assert_eq!(img.to_string(), "3×4×5");
        assert_eq!(Shape::Flat(7).to_string(), "7");
        assert!(Shape::Flat(0).is_empty());
    }
}
