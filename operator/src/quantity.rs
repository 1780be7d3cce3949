//! Kubernetes quantities (`64Mi`, `1.5Gi`, `500M`, `128974848`, `129e6`) to bytes, for
//! settings such as Redis `--maxmemory` that take a plain number.

use crate::{Error, Result};

/// Bytes in a quantity, rounded up to a whole byte as Kubernetes does. Zero, negative values
/// and values past `u64::MAX` are refused: a memory limit of nothing is never intended.
pub fn to_bytes(quantity: &str) -> Result<u64> {
    let invalid = |reason| Error::InvalidQuantity {
        value: quantity.to_owned(),
        reason,
    };
    let s = quantity.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(invalid("must not be negative"));
    }
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.contains('.') {
        return Err(invalid("more than one decimal point"));
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid("expected a number such as 64Mi"));
    }
    // value = mantissa * multiplier / 10^scale
    let mut mantissa: u128 = 0;
    for d in int_part.bytes().chain(frac_part.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(d - b'0')))
            .ok_or_else(|| invalid("too large"))?;
    }
    let mut scale = u32::try_from(frac_part.len()).map_err(|_| invalid("too many digits"))?;
    let multiplier: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 10u128.pow(3),
        "M" => 10u128.pow(6),
        "G" => 10u128.pow(9),
        "T" => 10u128.pow(12),
        "P" => 10u128.pow(15),
        "E" => 10u128.pow(18),
        "m" => {
            scale += 3;
            1
        }
        exp if exp.starts_with(['e', 'E']) => {
            let e: u32 = exp[1..]
                .parse()
                .map_err(|_| invalid("expected a unit such as Ki, Mi, Gi, k, M or G"))?;
            10u128.checked_pow(e).ok_or_else(|| invalid("too large"))?
        }
        _ => return Err(invalid("expected a unit such as Ki, Mi, Gi, k, M or G")),
    };
    let numerator = mantissa
        .checked_mul(multiplier)
        .ok_or_else(|| invalid("too large"))?;
    let denominator = 10u128
        .checked_pow(scale)
        .ok_or_else(|| invalid("too many digits"))?;
    let bytes = numerator.div_ceil(denominator);
    if bytes == 0 {
        return Err(invalid("must be positive"));
    }
    u64::try_from(bytes).map_err(|_| invalid("too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(to_bytes("64Mi").ok(), Some(64 * 1024 * 1024));
        assert_eq!(to_bytes("1Gi").ok(), Some(1 << 30));
        assert_eq!(to_bytes("1.5Gi").ok(), Some(1_610_612_736));
        assert_eq!(to_bytes("500M").ok(), Some(500_000_000));
        assert_eq!(to_bytes("2k").ok(), Some(2_000));
        assert_eq!(to_bytes("128974848").ok(), Some(128_974_848));
        assert_eq!(to_bytes("129e6").ok(), Some(129_000_000));
        assert_eq!(to_bytes("1Ki").ok(), Some(1024));
    }

    #[test]
    fn fractions_of_a_byte_round_up() {
        assert_eq!(to_bytes("1500m").ok(), Some(2));
        assert_eq!(to_bytes("0.5").ok(), Some(1));
    }

    #[test]
    fn bad_quantities_are_errors() {
        for bad in [
            "",
            "Mi",
            "64Xi",
            "-1Mi",
            "0",
            "0Mi",
            "1e",
            "99999999999Ei",
            "1.2.3Mi",
        ] {
            let err = to_bytes(bad).expect_err(bad);
            assert_eq!(err.metric_label(), "InvalidQuantity", "{bad}: {err}");
        }
    }
}
