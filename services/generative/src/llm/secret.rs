//! The API key type: the kit's [`machina_kit::Secret`], which never shows in logs or `Debug`.

/// A secret string (an API key); `Debug` and `Display` never print the value.
pub type Secret = machina_kit::Secret<String>;
