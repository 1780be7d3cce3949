//! Byte offsets to 1-based line and column (in characters).

/// 1-based line of byte `offset` in `source`.
pub(crate) fn line_at(source: &str, offset: usize) -> u32 {
    let prefix = prefix(source, offset);
    let newlines = prefix.bytes().filter(|b| *b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// 1-based column (counted in characters) of byte `offset` in `source`.
pub(crate) fn column_at(source: &str, offset: usize) -> u32 {
    let prefix = prefix(source, offset);
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    let chars = prefix[line_start..].chars().count();
    u32::try_from(chars + 1).unwrap_or(u32::MAX)
}

/// `source[..offset]`, clamped to the string and to a character boundary.
fn prefix(source: &str, offset: usize) -> &str {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    &source[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let src = "ab\nçd{{ x }}";
        assert_eq!((line_at(src, 0), column_at(src, 0)), (1, 1));
        assert_eq!((line_at(src, 3), column_at(src, 3)), (2, 1));
        // `{{` follows a two-byte character: column counts characters, not bytes.
        assert_eq!((line_at(src, 6), column_at(src, 6)), (2, 3));
        assert_eq!(line_at(src, 1000), 2);
    }
}
