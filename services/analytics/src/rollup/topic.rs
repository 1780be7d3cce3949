//! RabbitMQ topic matching (`*` one word, `#` zero or more), so a Scheduled job reading
//! stored events selects the same event types its queue binding would.

/// Whether `key` matches the binding `pattern`.
pub fn matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = key.split('.').collect();
    match_words(&pattern, &key)
}

fn match_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => (0..=key.len()).any(|skip| match_words(rest, &key[skip..])),
        Some((word, rest)) => match key.split_first() {
            Some((k, key_rest)) => (*word == "*" || word == k) && match_words(rest, key_rest),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn topic_semantics() {
        assert!(matches("page.viewed", "page.viewed"));
        assert!(!matches("page.viewed", "page.viewed.x"));
        assert!(matches("page.*", "page.viewed"));
        assert!(!matches("page.*", "page"));
        assert!(matches("content.#", "content"));
        assert!(matches("content.#", "content.generated.product"));
        assert!(matches("#", "anything.at.all"));
        assert!(matches("*.viewed", "item.viewed"));
        assert!(matches("#.viewed", "a.b.viewed"));
        assert!(!matches("item.*", "page.viewed"));
    }
}
