//! A 3×5 bitmap font (digits, capitals, a few signs) so plots can carry titles, legends and axis
//! values without a font dependency.

/// Each glyph: five rows of three bits, most significant bit on the left.
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '.' => [0, 0, 0, 0, 2],
        ',' => [0, 0, 0, 2, 4],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '=' => [0, 7, 0, 7, 0],
        ':' => [0, 2, 0, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        '(' => [2, 4, 4, 4, 2],
        ')' => [2, 1, 1, 1, 2],
        '%' => [5, 1, 2, 4, 5],
        _ => [0, 0, 0, 0, 0],
    }
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: i64) -> i64 {
    text.chars().count() as i64 * 4 * scale
}

/// Draws `text` with its top-left corner at (x, y); each glyph is 3×5 cells of `scale` pixels.
pub fn draw_text(
    canvas: &mut super::Canvas,
    x: i64,
    y: i64,
    text: &str,
    colour: [u8; 3],
    scale: i64,
) {
    for (i, c) in text.chars().enumerate() {
        let rows = glyph(c);
        let gx = x + i as i64 * 4 * scale;
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    canvas.fill_rect(gx + col * scale, y + r as i64 * scale, scale, scale, colour);
                }
            }
        }
    }
}

/// A short, readable form of a number for axis labels.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lands_where_asked_and_unknown_glyphs_are_blank() {
        let mut c = super::super::Canvas::new(40, 20);
        draw_text(&mut c, 2, 3, "1", [0, 0, 0], 1);
        // '1' = 010/110/010/010/111: its top row lights only the middle cell
        assert_eq!(c.get(3, 3), [0, 0, 0]);
        assert_eq!(c.get(2, 3), [255, 255, 255]);
        let mut blank = super::super::Canvas::new(10, 10);
        draw_text(&mut blank, 0, 0, "~", [0, 0, 0], 1);
        assert!((0..10).all(|y| (0..10).all(|x| blank.get(x, y) == [255, 255, 255])));
        assert_eq!(text_width("ab", 2), 16);
        assert_eq!(format_value(123.456), "123");
        assert_eq!(format_value(0.5), "0.500");
    }
}
