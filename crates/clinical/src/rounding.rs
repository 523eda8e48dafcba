//! Half-up rounding to the precision a published table is printed in
//! (clinical-references.md §0.3), robust to binary floating-point representation.

/// Relative tolerance that absorbs representation error such as `36.05 * 10 = 360.4999…`.
const REPRESENTATION_SLACK: f64 = 1e-9;

/// Rounds `value` half-up (away from zero for positive values) to `decimals` places.
///
/// `36.05` → `36.1`, `23.95` → `24.0`, `90.5` → `91`. Inputs of the scores are
/// non-negative after validation; negative values round half towards +∞.
pub fn round_half_up(value: f64, decimals: u8) -> f64 {
    let factor = 10f64.powi(i32::from(decimals));
    let scaled = value * factor;
    let slack = REPRESENTATION_SLACK * scaled.abs().max(1.0);
    (scaled + 0.5 + slack).floor() / factor
}

/// Rounds to a whole number, half-up.
pub fn round_integer(value: f64) -> f64 {
    round_half_up(value, 0)
}

/// Rounds to one decimal place, half-up.
pub fn round_one_decimal(value: f64) -> f64 {
    round_half_up(value, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_go_up_despite_binary_representation() {
        assert_eq!(round_one_decimal(36.05), 36.1);
        assert_eq!(round_one_decimal(23.95), 24.0);
        assert_eq!(round_one_decimal(1.15), 1.2);
        assert_eq!(round_integer(90.5), 91.0);
        assert_eq!(round_integer(21.5), 22.0);
    }

    #[test]
    fn below_half_goes_down() {
        assert_eq!(round_one_decimal(36.04), 36.0);
        assert_eq!(round_one_decimal(38.049), 38.0);
        assert_eq!(round_integer(90.49), 90.0);
    }

    #[test]
    fn exact_values_are_unchanged() {
        assert_eq!(round_one_decimal(38.0), 38.0);
        assert_eq!(round_one_decimal(35.1), 35.1);
        assert_eq!(round_integer(220.0), 220.0);
    }
}
