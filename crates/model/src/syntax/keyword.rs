//! Closed sets of words (`type: bind`, `protocol: udp`,
//! `deletion_policy: retain`…): each enum is declared once, with the
//! spelling of every variant, by `keywords!`; the decoders parse it
//! through [`Keyword::parse`], report a value outside the set with the
//! accepted words ([`Keyword::NAMES`], in declaration order), and
//! consumers write it back with [`Keyword::as_str`].

/// A closed set of words, each naming one variant.
pub trait Keyword: Sized + Copy + 'static {
    /// The accepted words, in declaration order (as error messages list them).
    const NAMES: &'static [&'static str];
    /// Every variant, in the order of [`Keyword::NAMES`].
    const ALL: &'static [Self];
    /// The variant a word names, exactly as written.
    fn parse(word: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == word).map(|i| Self::ALL[i])
    }
    /// The word for this variant.
    fn as_str(self) -> &'static str;
}

/// Declares an enum whose variants are words of a YAML file: the enum with
/// `Serialize` (each variant renamed to its word), [`Keyword`], `as_str`
/// and `Display`. Extra attributes (docs, derives such as `JsonSchema` or
/// `Default`, `#[default]` on a variant) pass through.
macro_rules! keywords {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $word)] $variant ),+
        }

        impl $crate::syntax::keyword::Keyword for $name {
            const NAMES: &'static [&'static str] = &[$($word),+];
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl $name {
            /// The accepted words, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($word),+];

            /// The word for this variant, as the file spells it.
            pub fn as_str(self) -> &'static str {
                <Self as $crate::syntax::keyword::Keyword>::as_str(self)
            }

            /// The variant a word names, exactly as written.
            pub fn parse(word: &str) -> Option<Self> {
                <Self as $crate::syntax::keyword::Keyword>::parse(word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use keywords;

#[cfg(test)]
mod tests {
    use super::*;

    keywords! {
        enum Colour {
            Red = "red",
            DarkBlue = "dark-blue",
        }
    }

    #[test]
    fn words_round_trip_in_declaration_order() {
        assert_eq!(Colour::NAMES, &["red", "dark-blue"]);
        for (word, colour) in Colour::NAMES.iter().zip(<Colour as Keyword>::ALL) {
            assert_eq!(Colour::parse(word), Some(*colour));
            assert_eq!(colour.as_str(), *word);
            assert_eq!(colour.to_string(), *word);
            assert_eq!(serde_json::to_value(colour).ok(), Some(serde_json::json!(word)));
        }
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::parse("dark_blue"), None);
    }
}
