//! File modes of configs, secrets and tmpfs mounts as compose reads them:
//! YAML octal `0440` or `0o440`, or a decimal number.

/// The largest file mode (all permission, setuid, setgid and sticky bits).
pub const MAX_FILE_MODE: u32 = 0o7777;

/// The mode `text` names, or `None` when it is not a number. A number above
/// [`MAX_FILE_MODE`] is returned as is: the caller reports the range.
pub fn parse_file_mode(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Some(oct) = text.strip_prefix("0o") {
        u32::from_str_radix(oct, 8).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse::<u32>().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_and_decimal_modes() {
        assert_eq!(parse_file_mode("0440"), Some(0o440));
        assert_eq!(parse_file_mode("0o440"), Some(0o440));
        assert_eq!(parse_file_mode("288"), Some(0o440));
        assert_eq!(parse_file_mode("0"), Some(0));
        assert_eq!(parse_file_mode("0999"), None);
        assert_eq!(parse_file_mode("rw"), None);
        assert_eq!(parse_file_mode("017777"), Some(0o17777));
    }
}
